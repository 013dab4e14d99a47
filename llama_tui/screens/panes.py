"""The main screen's side panes: the sessions sidebar and the settings pane, shown, hidden and
sized so that the conversation and the composer always keep room.

On a narrow terminal (80x24) the sidebar (32 columns) and the settings pane (44) left the
composer no width at all, and Textual failed laying it out: the app ended. Now the settings pane
narrows to at most 45% of the screen, and while it is open the sidebar steps aside whenever the
chat would get fewer than CHAT_MIN_WIDTH columns; it comes back when there is room again. The
sidebar's width is the user's (alt+left / alt+right), saved in the config.
"""

from __future__ import annotations

from textual.timer import Timer

from ..config import SIDEBAR_MAX, SIDEBAR_MIN, ConfigError
from ..config_files import save_settings
from ..widgets.settings_pane import SettingsPane
from ..widgets.sidebar import Sidebar
from .host import ScreenHost

CHAT_MIN_WIDTH = 40  # columns the conversation keeps before the sidebar steps aside
SETTINGS_WIDTH = 44
SETTINGS_MAX_FRACTION = 0.45
SIDEBAR_STEP = 4
SAVE_DELAY = 1.0  # seconds of no more width changes before the width is saved


class Panes:
    def __init__(self, screen: ScreenHost) -> None:
        self.screen = screen
        self.sidebar_wanted = True  # what ctrl+b last asked for
        self.sidebar_width = screen.services.config.sidebar_width
        self._save_timer: Timer | None = None

    def _sidebar(self) -> Sidebar:
        return self.screen.sidebar()

    def _settings(self) -> SettingsPane:
        return self.screen.settings_pane()

    def fit(self) -> None:
        """Size and show the panes for the screen's width (on mount, resize and every toggle)."""
        width = self.screen.size.width
        settings, sidebar = self._settings(), self._sidebar()
        settings_width = min(SETTINGS_WIDTH, int(width * SETTINGS_MAX_FRACTION)) if width else SETTINGS_WIDTH
        settings.styles.width = settings_width
        sidebar_width = min(self.sidebar_width, max(SIDEBAR_MIN, width // 2))
        sidebar.styles.width = sidebar_width
        room = width - (settings_width if settings.display else 0) - sidebar_width
        sidebar.display = self.sidebar_wanted and (room >= CHAT_MIN_WIDTH or not settings.display)

    def toggle_sidebar(self) -> None:
        self.sidebar_wanted = not self._sidebar().display
        if self.sidebar_wanted and self._settings().display and not self._fits_with_sidebar():
            self._settings().display = False  # asked for the sidebar: the settings make room
            self.screen.composer().focus()
        self.fit()

    def _fits_with_sidebar(self) -> bool:
        width = self.screen.size.width
        return width - min(SETTINGS_WIDTH, int(width * SETTINGS_MAX_FRACTION)) - self.sidebar_width >= CHAT_MIN_WIDTH

    async def toggle_settings(self) -> None:
        pane = self._settings()
        await pane.build()
        pane.display = not pane.display
        self.fit()
        if pane.display:
            pane.focus()
        else:
            self.screen.composer().focus()

    def focus_filter(self) -> None:
        """Into the sidebar's filter box (shown first if hidden)."""
        if not self._sidebar().display:
            self.sidebar_wanted = True
            if self._settings().display and not self._fits_with_sidebar():
                self._settings().display = False
            self.fit()
        self._sidebar().filter_input.focus()

    def resize_sidebar(self, step: int) -> None:
        """alt+right / alt+left: a wider or narrower sidebar, remembered in the config."""
        width = max(SIDEBAR_MIN, min(SIDEBAR_MAX, self.sidebar_width + step * SIDEBAR_STEP))
        if width == self.sidebar_width:
            return
        self.sidebar_width = width
        self.sidebar_wanted = True
        self.fit()
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self._sidebar().set_timer(SAVE_DELAY, self._save_width)

    def _save_width(self) -> None:
        services = self.screen.services
        services.config.sidebar_width = self.sidebar_width
        try:
            save_settings(services.config_path, sidebar_width=self.sidebar_width)
        except (ConfigError, OSError) as e:
            self.screen.notify(f"Sidebar width not saved: {e}", severity="warning", markup=False)
