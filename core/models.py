"""Shared pieces: the UI shell, audit display, permissions and housekeeping jobs. No models."""
