//! FUNCTION libraries: a second Lua state where `FUNCTION LOAD` runs library code that
//! registers functions with `redis.register_function`; FCALL runs them.

use crate::vm::{Kind, Vm};
use crate::Watchdog;
use std::rc::Rc;

pub struct Functions {
    vm: Vm,
}

impl Functions {
    pub fn new(watch: Rc<dyn Watchdog>) -> mlua::Result<Functions> {
        Ok(Functions {
            vm: Vm::new(watch, Kind::Functions)?,
        })
    }

    pub fn vm_memory(&self) -> usize {
        self.vm.used_memory()
    }
}
