"""The wind-down routine: when tonight's dose falls, and which step comes next."""
