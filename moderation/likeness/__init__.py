"""Likeness: faces (dlib) and voices (resemblyzer) in images and clips, matched against the
public-figure registry. Takes `mediakit.Clip`; needs nothing from `generation` or `feed`."""
