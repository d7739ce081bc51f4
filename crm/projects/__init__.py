"""Signed projects (招商项目): lifecycle, milestones, funds in place, district updates."""
