/* A server for sockstep's challenge level "@LEVEL@":
 *   @SUMMARY@
 * The protocol, exactly:  sockstep challenge @LEVEL@ --spec
 * Build, then run the challenge:
 *   cc -o server server.c && sockstep challenge @LEVEL@ -- ./server {port}
 * (sockstep puts a free port in {port}; it is in SOCKSTEP_PORT too.)
 *
 * This skeleton listens and accepts connections, one at a time. The framing is
 * yours: fill in handle().
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Serves one connection: reads the requests, writes the replies, and returns when
 * the connection is done (the caller then closes it). */
static void handle(int conn)
{
    /* ---- YOUR CODE HERE ---------------------------------------------------------
     * recv(conn, buf, n, 0) reads at most n bytes (0 once the client has closed,
     * -1 on an error); send(conn, data, n, 0) writes at most n bytes and returns
     * how many it wrote. */
    (void)conn;
    /* ------------------------------------------------------------------------- */
}

int main(int argc, char **argv)
{
    const char *port_text = argc > 1 ? argv[1] : getenv("SOCKSTEP_PORT");
    if (port_text == NULL) {
        fprintf(stderr, "usage: %s PORT (or set SOCKSTEP_PORT)\n", argv[0]);
        return 2;
    }
    char *end;
    long port = strtol(port_text, &end, 10);
    if (*port_text == '\0' || *end != '\0' || port < 0 || port > 65535) {
        fprintf(stderr, "bad port: %s\n", port_text);
        return 2;
    }

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        perror("socket");
        return 1;
    }
    /* Lets the server listen again at once on a port it used before. */
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0 ||
        listen(listener, 16) < 0) {
        perror("bind/listen");
        return 1;
    }
    for (;;) {
        int conn = accept(listener, NULL, NULL);
        if (conn < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("accept");
            return 1;
        }
        handle(conn);
        close(conn);
    }
}
