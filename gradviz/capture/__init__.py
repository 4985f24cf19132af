"""The only part of gradviz that touches live torch objects."""
from gradviz.capture.recorder import Recorder, record, show, step

__all__ = ["Recorder", "record", "show", "step"]
