"""A matplotlib plot inside an Output widget, redrawn in place as data arrives."""
from __future__ import annotations

from collections.abc import Callable

import ipywidgets as W


class LivePlot(W.Output):
    """Call `update(draw)` with a function `draw(ax)` to redraw the plot in place."""

    def __init__(self, figsize: tuple[float, float] = (7, 3.2)) -> None:
        super().__init__()
        self.figsize = figsize
        self.add_class("padl-live-plot")

    def update(self, draw: Callable[[object], None]) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        fig, ax = plt.subplots(figsize=self.figsize)
        draw(ax)
        fig.tight_layout()
        with self:
            self.clear_output(wait=True)
            display(fig)
        plt.close(fig)
