"""How a folder's images are split into train, validation and test: one home for the CLI, the window and projects.

- :mod:`core.split.make`: stratified, group-aware and k-fold splits (:class:`~core.split.make.Split`);
- :mod:`core.split.groups`: which images belong to one patient or specimen;
- :mod:`core.split.duplicates`: copies of an image (identical files from the scan, the same picture resized or
  re-saved from :mod:`core.split.copysets`, compared by :mod:`core.split.hashes`) kept in one split;
- :mod:`core.split.plan`: the split a run uses (:class:`~core.split.plan.SplitSpec`) and what it achieved;
- :mod:`core.split.files`: split files (JSON) and the ``file,class,split`` CSV;
- :mod:`core.split.preview`: the preview shown before training (terminal table and the window's sentence).
"""
