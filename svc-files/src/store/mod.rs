//! Every query of svc-files.

pub mod emoji;
pub mod files;
pub mod previews;
