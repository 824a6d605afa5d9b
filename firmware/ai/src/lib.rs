//! Keel's on-device AI (issue 7); the modules land here.
