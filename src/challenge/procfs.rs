//! (being built: see the module list in `challenge`.)
