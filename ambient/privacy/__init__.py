"""Health data the user controls: what ambient keeps about a person, for how long (retention),
taking it out (export), erasing it (forget). The per-person data classes are registered in
:mod:`ambient.privacy.data_classes`."""
