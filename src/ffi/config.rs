//! `raft_config` without the variadic part. The C shim (`src/shim/config.c`)
//! reads the variadic argument and calls one of these; they are exported for
//! languages that cannot call variadic functions.

use crate::ffi::ErrorCode;
use std::ffi::c_int;

use super::server::with_server;
use super::types::*;
use crate::core::{Config, RaftError};

#[derive(Clone, Copy)]
enum Option_ {
    ElectionTimeout,
    RequestTimeout,
    AutoFlush,
    LogEnabled,
    NonblockingApply,
    DisableApply,
}

impl TryFrom<c_int> for Option_ {
    type Error = RaftError;
    fn try_from(value: c_int) -> Result<Self, RaftError> {
        Ok(match value {
            1 => Option_::ElectionTimeout,
            2 => Option_::RequestTimeout,
            3 => Option_::AutoFlush,
            4 => Option_::LogEnabled,
            5 => Option_::NonblockingApply,
            6 => Option_::DisableApply,
            _ => return Err(RaftError::NotFound),
        })
    }
}

fn get(config: &Config, option: Option_) -> c_int {
    match option {
        Option_::ElectionTimeout => config.election_timeout as c_int,
        Option_::RequestTimeout => config.request_timeout as c_int,
        Option_::AutoFlush => config.auto_flush as c_int,
        Option_::LogEnabled => config.log_enabled as c_int,
        Option_::NonblockingApply => config.nonblocking_apply as c_int,
        Option_::DisableApply => config.disable_apply as c_int,
    }
}

/// Sets one option; the non-variadic form of `raft_config(me, 1, config,
/// value)`. May be called at any time, also from callbacks; a new election
/// timeout is re-randomised at once.
/// @param me the server
/// @param config a `raft_config_e` value
/// @param value the new value: a positive number of milliseconds for the two
/// timeouts, 0 or non-zero for the flags
/// @return 0 on success; RAFT_ERR_NOTFOUND for an unknown option;
/// RAFT_ERR_MISUSE for a NULL server or a timeout that is not positive;
/// RAFT_ERR_SHUTDOWN for a poisoned server.
#[no_mangle]
pub unsafe extern "C" fn raft_config_set_value(me: *mut raft_server_t, config: c_int, value: c_int) -> c_int {
    let option = match Option_::try_from(config) {
        Ok(o) => o,
        Err(e) => return e.code(),
    };
    if me.is_null() {
        return RaftError::Misuse.code();
    }
    with_server(me, RaftError::Shutdown.code(), |s| {
        let mut c = s.config();
        let on = value != 0;
        match option {
            Option_::ElectionTimeout | Option_::RequestTimeout if value <= 0 => return RaftError::Misuse.code(),
            Option_::ElectionTimeout => c.election_timeout = value as i64,
            Option_::RequestTimeout => c.request_timeout = value as i64,
            Option_::AutoFlush => c.auto_flush = on,
            Option_::LogEnabled => c.log_enabled = on,
            Option_::NonblockingApply => c.nonblocking_apply = on,
            Option_::DisableApply => c.disable_apply = on,
        }
        s.set_config(c);
        0
    })
}

/// Reads one option; the non-variadic form of `raft_config(me, 0, config,
/// &value)`.
/// @param me the server
/// @param config a `raft_config_e` value
/// @param value where the value is written (flags read as 0 or 1)
/// @return 0 on success; RAFT_ERR_NOTFOUND for an unknown option;
/// RAFT_ERR_MISUSE for a NULL server or a NULL `value`.
#[no_mangle]
pub unsafe extern "C" fn raft_config_get_value(me: *mut raft_server_t, config: c_int, value: *mut c_int) -> c_int {
    let option = match Option_::try_from(config) {
        Ok(o) => o,
        Err(e) => return e.code(),
    };
    if me.is_null() || value.is_null() {
        return RaftError::Misuse.code();
    }
    with_server(me, RaftError::Shutdown.code(), |s| {
        // SAFETY: value is the caller's non-NULL destination.
        unsafe { *value = get(&s.config(), option) };
        0
    })
}
