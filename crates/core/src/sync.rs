//! Small helpers for the std locks the engine and its adapters share.

use std::sync::{Mutex, MutexGuard};

/// Locks a std Mutex. Every critical section swaps in fully built values, so a poisoned lock
/// still guards consistent data.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
