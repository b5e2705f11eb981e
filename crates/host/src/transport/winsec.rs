//! Who is at the other end of a pipe, and a pipe only this user may open: the Windows security
//! calls the named pipe needs. The one module of the host layer with `unsafe` code, because
//! these APIs have no safe wrapper; each call's contract is stated where it is made.
#![allow(unsafe_code)]

use std::io;
use std::os::windows::io::AsRawHandle;

use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{
    GetTokenInformation, TokenUser, PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES, TOKEN_QUERY,
    TOKEN_USER,
};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Process32FirstW, Process32NextW, PROCESSENTRY32W, TH32CS_SNAPPROCESS,
};
use windows_sys::Win32::System::Pipes::{GetNamedPipeClientProcessId, GetNamedPipeServerProcessId};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, OpenProcess, OpenProcessToken, QueryFullProcessImageNameW,
    PROCESS_NAME_WIN32, PROCESS_QUERY_LIMITED_INFORMATION,
};

/// A handle closed when dropped.
struct Owned(HANDLE);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: the handle was opened by us and is closed exactly once.
        unsafe { CloseHandle(self.0) };
    }
}

/// The SID (`S-1-5-21-…`) of the user a process runs as; `None` for this process.
pub fn user_sid(pid: Option<u32>) -> io::Result<String> {
    // SAFETY: GetCurrentProcess returns a pseudo-handle that needs no closing; OpenProcess
    // returns a handle we own or null (checked).
    let process = match pid {
        None => None,
        Some(pid) => {
            let h = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
            if h.is_null() {
                return Err(io::Error::last_os_error());
            }
            Some(Owned(h))
        }
    };
    let process_handle = match &process {
        Some(p) => p.0,
        None => unsafe { GetCurrentProcess() },
    };
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: `token` is a valid out pointer; on success we own the handle.
    if unsafe { OpenProcessToken(process_handle, TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let token = Owned(token);
    // TOKEN_USER is a pointer and a SID after it; 256 bytes hold any SID (at most 68 bytes).
    let mut buf = [0u64; 32];
    let mut len = 0u32;
    // SAFETY: the buffer is writable for its whole size, which we pass; aligned for TOKEN_USER.
    let ok = unsafe {
        GetTokenInformation(
            token.0,
            TokenUser,
            buf.as_mut_ptr().cast(),
            std::mem::size_of_val(&buf) as u32,
            &mut len,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success the buffer starts with a TOKEN_USER whose SID points into the buffer.
    let sid = unsafe { (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    let mut text: *mut u16 = std::ptr::null_mut();
    // SAFETY: `sid` is valid while `buf` lives; `text` is allocated by the call and freed below.
    if unsafe { ConvertSidToStringSidW(sid, &mut text) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `text` is a NUL-terminated UTF-16 string from the call above.
    let s = unsafe {
        let n = (0..).take_while(|&i| *text.add(i) != 0).count();
        String::from_utf16_lossy(std::slice::from_raw_parts(text, n))
    };
    // SAFETY: allocated by ConvertSidToStringSidW with LocalAlloc.
    unsafe { LocalFree(text.cast()) };
    Ok(s)
}

/// The user a connected pipe's other end runs as: the client's, seen from a server pipe, or
/// the server's, seen from a client.
pub fn peer_sid(pipe: &impl AsRawHandle, peer_is_server: bool) -> io::Result<String> {
    user_sid(Some(peer_pid(pipe, peer_is_server)?))
}

/// The process id of a connected pipe's other end.
pub fn peer_pid(pipe: &impl AsRawHandle, peer_is_server: bool) -> io::Result<u32> {
    let mut pid = 0u32;
    let handle = pipe.as_raw_handle() as HANDLE;
    // SAFETY: `handle` is a live pipe handle borrowed from `pipe`; `pid` is a valid out pointer.
    let ok = unsafe {
        if peer_is_server {
            GetNamedPipeServerProcessId(handle, &mut pid)
        } else {
            GetNamedPipeClientProcessId(handle, &mut pid)
        }
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(pid)
}

/// The full path of a process's executable.
pub fn process_image(pid: u32) -> io::Result<String> {
    // SAFETY: OpenProcess returns a handle we own or null (checked).
    let h = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if h.is_null() {
        return Err(io::Error::last_os_error());
    }
    let process = Owned(h);
    let mut buf = vec![0u16; 32_768];
    let mut len = buf.len() as u32;
    // SAFETY: `buf` is writable for `len` UTF-16 units, which we pass; the call writes back
    // the length it used.
    let ok = unsafe {
        QueryFullProcessImageNameW(process.0, PROCESS_NAME_WIN32, buf.as_mut_ptr(), &mut len)
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(String::from_utf16_lossy(&buf[..len as usize]))
}

/// The id of the process that started `pid`, from a snapshot of the process table.
pub fn parent_pid(pid: u32) -> io::Result<u32> {
    // SAFETY: returns a snapshot handle we own, or INVALID_HANDLE_VALUE (checked).
    let snapshot = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0) };
    if snapshot == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    let snapshot = Owned(snapshot);
    // SAFETY: PROCESSENTRY32W is plain data; all zeroes is a valid value.
    let mut entry: PROCESSENTRY32W = unsafe { std::mem::zeroed() };
    entry.dwSize = std::mem::size_of::<PROCESSENTRY32W>() as u32;
    // SAFETY: `entry` is a valid PROCESSENTRY32W with its size set, as both calls require.
    let mut more = unsafe { Process32FirstW(snapshot.0, &mut entry) } != 0;
    while more {
        if entry.th32ProcessID == pid {
            return Ok(entry.th32ParentProcessID);
        }
        // SAFETY: as above.
        more = unsafe { Process32NextW(snapshot.0, &mut entry) } != 0;
    }
    Err(io::Error::new(io::ErrorKind::NotFound, "no such process"))
}

/// Creates a pipe instance that only `sid` may open (a protected DACL with one entry).
pub fn create_pipe(
    options: &tokio::net::windows::named_pipe::ServerOptions,
    name: &str,
    sid: &str,
) -> io::Result<tokio::net::windows::named_pipe::NamedPipeServer> {
    let sddl: Vec<u16> = format!("D:P(A;;GA;;;{sid})")
        .encode_utf16()
        .chain(Some(0))
        .collect();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: `sddl` is NUL-terminated; `sd` is allocated by the call and freed below.
    let ok = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut attributes = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: sd,
        bInheritHandle: 0,
    };
    // SAFETY: `attributes` is a valid SECURITY_ATTRIBUTES whose descriptor lives until after
    // the call (the system copies it into the pipe).
    let created = unsafe {
        options.create_with_security_attributes_raw(
            name,
            (&mut attributes as *mut SECURITY_ATTRIBUTES).cast(),
        )
    };
    // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
    unsafe { LocalFree(sd) };
    created
}
