//! The current user's Run key, where Windows looks for programs to start at login.
#![allow(unsafe_code)]

use std::io;

use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_SUCCESS};
use windows_sys::Win32::System::Registry::{
    RegDeleteKeyValueW, RegGetValueW, RegSetKeyValueW, HKEY_CURRENT_USER, REG_SZ, RRF_RT_REG_SZ,
};

/// The key under `HKEY_CURRENT_USER`.
pub const RUN: &str = r"Software\Microsoft\Windows\CurrentVersion\Run";

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(Some(0)).collect()
}

fn check(code: u32) -> io::Result<()> {
    if code == ERROR_SUCCESS {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(code as i32))
    }
}

/// Sets the value `name` to `command`.
pub fn set(name: &str, command: &str) -> io::Result<()> {
    let (key, name, data) = (wide(RUN), wide(name), wide(command));
    // SAFETY: every string is NUL-terminated UTF-16 that outlives the call; the data length is
    // in bytes, its terminator included, as REG_SZ requires.
    check(unsafe {
        RegSetKeyValueW(
            HKEY_CURRENT_USER,
            key.as_ptr(),
            name.as_ptr(),
            REG_SZ,
            data.as_ptr().cast(),
            (data.len() * 2) as u32,
        )
    })
}

/// The value `name`, or `None` when it is not there.
pub fn get(name: &str) -> io::Result<Option<String>> {
    let (key, name) = (wide(RUN), wide(name));
    let mut buf = vec![0u16; 2048];
    let mut bytes = (buf.len() * 2) as u32;
    // SAFETY: the buffer is writable for `bytes` bytes, which we pass; the strings are
    // NUL-terminated and outlive the call.
    let code = unsafe {
        RegGetValueW(
            HKEY_CURRENT_USER,
            key.as_ptr(),
            name.as_ptr(),
            RRF_RT_REG_SZ,
            std::ptr::null_mut(),
            buf.as_mut_ptr().cast(),
            &mut bytes,
        )
    };
    if code == ERROR_FILE_NOT_FOUND {
        return Ok(None);
    }
    check(code)?;
    let chars = (bytes as usize / 2).min(buf.len());
    let text = String::from_utf16_lossy(&buf[..chars]);
    Ok(Some(text.trim_end_matches('\0').to_owned()))
}

/// Deletes the value `name`; `NotFound` when it was not there.
pub fn delete(name: &str) -> io::Result<()> {
    let (key, name) = (wide(RUN), wide(name));
    // SAFETY: NUL-terminated strings that outlive the call.
    check(unsafe { RegDeleteKeyValueW(HKEY_CURRENT_USER, key.as_ptr(), name.as_ptr()) })
}
