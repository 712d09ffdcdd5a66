//! The `migrate` command line.

fn main() {
    println!("migrate");
}
