"""The window's actions and shape: menus and shortcuts (Ctrl+1 … Ctrl+5 for the steps, Quit, Export), the
Next buttons that make the steps one sequence, fitting the screen, and waiting for a run to stop on close."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEventLoop, QObject, QRect, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QBoxLayout,
    QMainWindow,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QTabWidget,
    QWidget,
)

from foveal.gui.workers.base import ThreadWorker

#: The window's commands with their shortcuts, in the order of the File menu.
COMMANDS: tuple[tuple[str, QKeySequence | QKeySequence.StandardKey], ...] = (
    ("Open dataset folder…", QKeySequence.StandardKey.Open),
    ("Start training", QKeySequence("Ctrl+Return")),
    ("Stop training", QKeySequence("Esc")),
    ("Open run folder to evaluate…", QKeySequence("Ctrl+Shift+O")),
    ("Compare backbones…", QKeySequence("Ctrl+B")),
    ("Export model…", QKeySequence("Ctrl+E")),
)

#: The numbered steps, Ctrl+1 … in order.
STEP_NAMES = ("Data", "Model", "Train", "Evaluate", "Predict", "Runs", "Label")


#: Height kept for the window manager's title bar while it is not yet known (before the window is shown).
TITLE_BAR = 40


class WindowActions(QObject):
    """The window's :data:`COMMANDS` as actions (:attr:`named`; the window connects them to what they do), the
    step actions, Quit, the Next buttons, and the dialog shown while a run stops as the window closes.

    The window is reached through ``parent()``, never kept in an attribute (no reference cycle through it).
    """

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.named: dict[str, QAction] = {}
        for text, keys in COMMANDS:
            action = QAction(text, window)
            action.setShortcut(keys)
            window.addAction(action)
            self.named[text] = action
        self.step_actions: list[QAction] = []
        self.quit_action = QAction("Quit", window)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(window.close)
        self.next_buttons: dict[int, QPushButton] = {}
        self.stopping_dialog: QProgressDialog | None = None
        self._splitter: QSplitter | None = None
        self._tabs: QTabWidget | None = None
        self._wide_pages: tuple[QWidget, ...] = ()
        self._wide = False

    def _window(self) -> QMainWindow:
        window = self.parent()
        assert isinstance(window, QMainWindow)
        return window

    def add_steps(self, steps: Sequence[tuple[QTabWidget, QWidget]]) -> None:
        """Ctrl+1, Ctrl+2 …: each shows its page (in its tab widget), in the order given."""
        window = self._window()
        for tabs, page in steps:
            n = len(self.step_actions) + 1
            step = QAction(f"{n}  {STEP_NAMES[n - 1]}", window)
            step.setShortcut(QKeySequence(f"Ctrl+{n}"))
            step.triggered.connect(lambda _=False, t=tabs, p=page: t.setCurrentWidget(p))
            window.addAction(step)
            self.step_actions.append(step)

    def add_next_buttons(self, pages: Sequence[tuple[QWidget, QWidget]], start_button: QWidget) -> None:
        """The steps read as one sequence across both sides: Data → Model → Train, each saying what comes next.

        ``pages``: the first steps' pages, each with its last setting (Tab reaches the Next button right after
        it); ``start_button`` takes the focus when the Train step is shown."""
        for n, (page, last) in enumerate(pages, 1):
            button = QPushButton(f"Next: {n + 1}  {STEP_NAMES[n]} →")
            button.setToolTip(f"Ctrl+{n + 1}")
            button.clicked.connect(self.step_actions[n].trigger)
            layout = page.layout()
            assert isinstance(layout, QBoxLayout)  # each step's page is a column
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignRight)
            self.next_buttons[n] = button
            QWidget.setTabOrder(last, button)
        self.step_actions[len(pages)].triggered.connect(lambda: start_button.setFocus())

    def show_training_state(self, ready: bool, training: bool) -> None:
        """Start stays enabled, so Ctrl+Return can say why it cannot start; Stop only while a run is under way."""
        start = self.named["Start training"]
        start.setEnabled(True)
        start.setText("Start training" if ready and not training else "Start training (not ready yet)")
        self.named["Stop training"].setEnabled(training)

    def widen_for(self, splitter: QSplitter, tabs: QTabWidget, pages: Sequence[QWidget]) -> None:
        """Give the second side of ``splitter`` more room while ``tabs`` shows one of ``pages`` (the Evaluate view
        needs the room; data and model settings are not needed while reading it)."""
        self._splitter, self._tabs, self._wide_pages = splitter, tabs, tuple(pages)
        tabs.currentChanged.connect(self._on_tab_changed)

    def stop_widening(self) -> None:
        """The window is closing: Qt removes the tabs when it deletes the window, after Python has let go of
        this object, so the tab changes must not reach it any more."""
        if self._tabs is not None:
            self._tabs.currentChanged.disconnect(self._on_tab_changed)
            self._tabs = None

    @Slot(int)
    def _on_tab_changed(self, index: int) -> None:
        if self._tabs is not None:
            self._wide = self._tabs.widget(index) in self._wide_pages
            QTimer.singleShot(0, self._apply_split)  # once the new page has taken part in the layout

    @Slot()
    def _apply_split(self) -> None:
        if self._splitter is not None:
            total = sum(self._splitter.sizes())
            share = 0.26 if self._wide else 0.43
            self._splitter.setSizes([int(total * share), total - int(total * share)])

    def fit_to_screen(self, free: QRect | None = None) -> None:
        """Never larger than the screen's free area ``free`` (default: this screen's; a laptop's 1366×768, or
        1920×1080 at 2× scaling), and on it: the title bar and the status bar stay reachable, whatever size was
        saved or asked for."""
        window = self._window()
        if free is None:
            screen = window.screen() or QGuiApplication.primaryScreen()
            if screen is None:
                return
            free = screen.availableGeometry()
        frame_w = max(window.frameGeometry().width() - window.width(), 0)
        frame_h = max(window.frameGeometry().height() - window.height(), 0)
        if frame_h < TITLE_BAR // 2:  # no title bar known (not shown yet, or no window manager to ask): room for
            frame_h = TITLE_BAR  # one, so that the status bar is never pushed below the screen's bottom edge
        w = min(window.width(), free.width() - frame_w)
        h = min(window.height(), free.height() - frame_h)
        window.resize(max(w, 320), max(h, 240))
        x = min(max(window.x(), free.left()), free.right() - window.frameGeometry().width() + 1)
        y = min(max(window.y(), free.top()), free.bottom() - window.frameGeometry().height() + 1)
        window.move(max(x, free.left()), max(y, free.top()))

    def wait_with_dialog(self, worker: ThreadWorker) -> None:
        """Wait for a run to stop (after its current batch) with the window alive and saying so."""
        window = self._window()
        window.statusBar().showMessage("Stopping training…")
        panel = getattr(window, "train_panel", None)  # the Train view knows whether a model exists to keep
        kept = ("The best model so far is kept." if panel is None or panel.has_model_so_far() else
                "No model has been trained yet: nothing is saved.")
        dialog = QProgressDialog(f"Stopping training after the current batch…\n{kept}", "", 0, 0, window)
        dialog.setWindowTitle("Foveal: stopping")
        dialog.setCancelButton(None)  # no Cancel: the run stops after its batch whatever is pressed
        dialog.setMinimumDuration(0)
        dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.stopping_dialog = dialog
        dialog.show()
        loop = QEventLoop()
        poll = QTimer()
        poll.setInterval(30)
        poll.timeout.connect(lambda: loop.quit() if not worker.is_running() else None)
        poll.start()
        loop.exec()
        poll.stop()
        worker.wait()
        dialog.close()
        self.stopping_dialog = None
