"""Widgets shared by padl's three Voilà apps: shell, status, progress, upload, media, plots."""
from padl_lib.widgets.app import AppShell, ProgressBar, StatusLine
from padl_lib.widgets.files import LargeFileUpload, UploadToWorkFolder, save_upload, upload_target
from padl_lib.widgets.landing import NotebookInfo, course_map, discover_apps, discover_notebooks, landing_page
from padl_lib.widgets.media import DownloadLink, MediaPlayer
from padl_lib.widgets.plots import LivePlot

__all__ = [
    "AppShell", "ProgressBar", "StatusLine", "UploadToWorkFolder", "LargeFileUpload", "save_upload", "upload_target",
    "NotebookInfo", "course_map", "discover_apps", "discover_notebooks", "landing_page", "MediaPlayer", "DownloadLink",
    "LivePlot",
]
