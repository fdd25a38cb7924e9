//! Page sizes of list requests, the rule declared once: a list names its
//! default and its maximum, and a request's `limit` is checked against them.

use crate::error::{ServiceError, ServiceResult};

/// A list's page size: `default` when `limit` is absent or 0, refused (400
/// on `limit`) above `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize {
    pub default: u32,
    pub max: u32,
}

impl PageSize {
    pub const fn new(default: u32, max: u32) -> Self {
        Self { default, max }
    }

    /// The size a request asks for.
    pub fn of(self, limit: Option<u32>) -> ServiceResult<u32> {
        match limit {
            None | Some(0) => Ok(self.default),
            Some(l) if l > self.max => Err(ServiceError::validation("limit", format!("must be at most {}", self.max))),
            Some(l) => Ok(l),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_or_zero_is_the_default_and_above_the_maximum_is_refused() {
        let p = PageSize::new(50, 200);
        assert_eq!(p.of(None).expect("default"), 50);
        assert_eq!(p.of(Some(0)).expect("default"), 50);
        assert_eq!(p.of(Some(1)).expect("one"), 1);
        assert_eq!(p.of(Some(200)).expect("max"), 200);
        let e = p.of(Some(201)).expect_err("too many");
        assert_eq!(e.to_string(), ServiceError::validation("limit", "must be at most 200").to_string());
    }
}
