// A server for sockstep's challenge level "@LEVEL@":
//   @SUMMARY@
// The protocol, exactly:  sockstep challenge @LEVEL@ --spec
// Build, then run the challenge:
//   rustc -O server.rs && sockstep challenge @LEVEL@ -- ./server {port}
// (sockstep puts a free port in {port}; it is in SOCKSTEP_PORT too.)
//
// This skeleton listens and accepts connections, one at a time. The framing is
// yours: fill in handle().

use std::io;
use std::net::{TcpListener, TcpStream};

/// Serves one connection: reads the requests, writes the replies, and returns when
/// the connection is done (it is closed when `conn` is dropped).
fn handle(conn: &mut TcpStream) -> io::Result<()> {
    // ---- YOUR CODE HERE ---------------------------------------------------------
    // With `use std::io::{Read, Write};`: conn.read(&mut buf) reads at most
    // buf.len() bytes (Ok(0) once the client has closed); conn.write_all(&data)
    // writes all of data.
    let _ = conn;
    Ok(())
    // -----------------------------------------------------------------------------
}

fn main() -> io::Result<()> {
    let Some(port) = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("SOCKSTEP_PORT").ok())
    else {
        eprintln!("usage: ./server PORT (or set SOCKSTEP_PORT)");
        std::process::exit(2);
    };
    let port: u16 = port
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("bad port {port:?}")))?;
    // On Unix, std's bind sets SO_REUSEADDR: the server can listen again at once on a
    // port it used before.
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    loop {
        let (mut conn, _address) = listener.accept()?;
        handle(&mut conn)?;
    }
}
