"""The window's actions and shape: menus and shortcuts (Ctrl+1 … Ctrl+5 for the steps, Quit, Export), the
Next buttons that make the steps one sequence, fitting the screen, and waiting for a run to stop on close."""

from __future__ import annotations

from PySide6.QtCore import QEventLoop, QRect, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QProgressDialog, QPushButton, QTabWidget, QWidget


class WindowActions:
    """Mixed into :class:`gui.main_window.MainWindow` (which provides the panels, workers and slots used here)."""

    def _make_actions(self) -> None:
        self.named_actions: dict[str, QAction] = {}
        for text, keys, slot in (("Open dataset folder…", QKeySequence.StandardKey.Open, self._on_open_action),
                                 ("Start training", QKeySequence("Ctrl+Return"), self._on_start_action),
                                 ("Stop training", QKeySequence("Esc"), self._on_stop_requested),
                                 ("Open run folder to evaluate…", QKeySequence("Ctrl+Shift+O"),
                                  self._on_open_run_action),
                                 ("Compare backbones…", QKeySequence("Ctrl+B"), lambda: self.compare.open()),
                                 ("Export model…", QKeySequence("Ctrl+E"), self._on_export_action)):
            action = QAction(text, self)
            action.setShortcut(keys)
            action.triggered.connect(slot)
            self.addAction(action)
            self.named_actions[text] = action
        # Ctrl+1 … Ctrl+5: the steps, in order (Data, Model, Train, Evaluate, Predict).
        self.step_actions = []
        names = ("Data", "Model", "Train", "Evaluate", "Predict")
        for n, (tabs, page) in enumerate(self.steps(), 1):
            step = QAction(f"{n}  {names[n - 1]}", self)
            step.setShortcut(QKeySequence(f"Ctrl+{n}"))
            step.triggered.connect(lambda _=False, t=tabs, p=page: t.setCurrentWidget(p))
            self.addAction(step)
            self.step_actions.append(step)
        self.quit_action = QAction("Quit", self)
        self.quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        self.train_panel.set_ready(False)

    def _add_next_buttons(self) -> None:
        """The steps read as one sequence across both sides: Data → Model → Train, each saying what comes next."""
        self.next_buttons = {}
        for panel, text, target in ((self.dataset_panel, "Next: 2  Model →", 1), (self.model_panel,
                                                                                  "Next: 3  Train →", 2)):
            button = QPushButton(text)
            button.setToolTip(f"Ctrl+{target + 1}")
            button.clicked.connect(lambda _=False, n=target: self.step_actions[n].trigger())
            panel.layout().addWidget(button, 0, Qt.AlignmentFlag.AlignRight)
            self.next_buttons[target] = button
        # Tab reaches each Next button right after the last setting of its step.
        QWidget.setTabOrder(self.dataset_panel.export_split_button, self.next_buttons[1])
        QWidget.setTabOrder(self.model_panel.devices, self.next_buttons[2])
        self.step_actions[2].triggered.connect(lambda: self.train_panel.start_button.setFocus())

    def steps(self) -> list[tuple[QTabWidget, object]]:
        """The numbered steps: the tab widget each is in, and its page."""
        return [(self.tabs, self.dataset_panel), (self.tabs, self.model_panel), (self.right_tabs, self.train_panel),
                (self.right_tabs, self.evaluate_panel), (self.right_tabs, self.predict_panel)]

    @Slot()
    def _on_start_action(self) -> None:
        """Ctrl+Return: start, or say why not."""
        if not self.train_panel.ready:
            training = self.train_worker is not None and self.train_worker.is_running()
            self.statusBar().showMessage("Training is already running." if training else
                                         f"Cannot start yet: {self.train_panel.why_not_ready}")
            return
        self.start_training()

    def fit_to_screen(self, free: QRect | None = None) -> None:
        """Never larger than the screen's free area ``free`` (default: this screen's; a laptop's 1366×768, or
        1920×1080 at 2× scaling), and on it: the title bar and the status bar stay reachable, whatever size was
        saved or asked for."""
        if free is None:
            screen = self.screen() or QGuiApplication.primaryScreen()
            if screen is None:
                return
            free = screen.availableGeometry()
        frame_w = max(self.frameGeometry().width() - self.width(), 0)
        frame_h = max(self.frameGeometry().height() - self.height(), 0)
        w = min(self.width(), free.width() - frame_w)
        h = min(self.height(), free.height() - frame_h)
        self.resize(max(w, 320), max(h, 240))
        x = min(max(self.x(), free.left()), free.right() - self.frameGeometry().width() + 1)
        y = min(max(self.y(), free.top()), free.bottom() - self.frameGeometry().height() + 1)
        self.move(max(x, free.left()), max(y, free.top()))

    def _wait_with_dialog(self, worker) -> None:
        """Wait for a run to stop (after its current batch) with the window alive and saying so."""
        self.statusBar().showMessage("Stopping training…")
        dialog = QProgressDialog("Stopping training after the current batch…\nThe best model so far is kept.",
                                 "", 0, 0, self)
        dialog.setWindowTitle("Foveal: stopping")
        dialog.setCancelButton(None)
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
