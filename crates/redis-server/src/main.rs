//! `redis-server`: argv → ferrodis_server::run_main. Nothing else lives here.

use ferrodis_server::alloc::CountingAlloc;

#[global_allocator]
static GLOBAL: CountingAlloc<tikv_jemallocator::Jemalloc> =
    CountingAlloc(tikv_jemallocator::Jemalloc);

fn main() {
    ferrodis_server::alloc::mark_installed();
    let code = ferrodis_server::run_main(std::env::args().collect());
    std::process::exit(code);
}
