"""One ComponentResource per concern; each takes a frozen args dataclass and exposes typed outputs."""
