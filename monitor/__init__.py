"""monitor: a news-monitoring daemon that turns news feeds into alerts about diplomatic milestones."""

__version__ = "0.1.0"
