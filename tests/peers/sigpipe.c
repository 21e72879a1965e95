/* The peer resets the connection; a C client that reads the reset and then writes.
   With argv[1] == "ignore" it ignores SIGPIPE first, with "nosignal" it passes
   MSG_NOSIGNAL to send() (Linux); either way it prints errno's name. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "ignore") == 0) signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, len) || listen(listener, 1) ||
        getsockname(listener, (struct sockaddr *)&addr, &len)) return 2;
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(client, (struct sockaddr *)&addr, len)) return 2;
    int server = accept(listener, NULL, NULL);
    struct linger abort_close = {.l_onoff = 1, .l_linger = 0};
    setsockopt(server, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
    close(server); /* a reset */
    char buf[16];
    if (recv(client, buf, sizeof buf, 0) >= 0 || errno != ECONNRESET) return 3;
    int flags = argc > 1 && strcmp(argv[1], "nosignal") == 0 ? MSG_NOSIGNAL : 0;
    if (send(client, "more", 4, flags) >= 0) return 4;
    printf("%s\n", errno == EPIPE ? "EPIPE" : strerror(errno));
    return 0;
}
