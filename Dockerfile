# mikaka in a container: Debian 12 slim with the Debian package built from this tree inside.
#   docker compose up -d            (compose.yaml: host networking, config and state volumes)
# Stage 1 builds the .deb exactly as `make deb` does; stage 2 installs it (the package's
# postinst creates the mikaka user and /var/lib/mikaka).

FROM debian:bookworm-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential debhelper dpkg-dev fakeroot pkg-config \
      libsqlite3-dev libmnl-dev nettle-dev libspandsp-dev libssl-dev \
      libwebsockets-dev libuv1-dev libcrypt-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src/mikaka
COPY . .
RUN dpkg-buildpackage -us -uc -b -j2 \
 && mkdir /out && mv ../mikaka_*.deb /out/ && rm -f /out/mikaka-dbgsym_*.deb

FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
COPY --from=build /out/ /tmp/deb/
# File capabilities stand in for the unit's AmbientCapabilities=: SIP on 5060/5061, raw DHCP and
# the lease's address and routes on the line interface, while the daemon runs as mikaka.
RUN apt-get update \
 && apt-get install -y --no-install-recommends asterisk-core-sounds-en-wav asterisk-moh-opsound-wav \
 && apt-get install -y --no-install-recommends libcap2-bin libwebsockets17 libuv1 libcurl4 libssl3 /tmp/deb/mikaka_*.deb \
 && setcap cap_net_bind_service,cap_net_raw,cap_net_admin+ep /usr/sbin/mikakad \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/* /tmp/deb \
 && install -d -o mikaka -g mikaka -m 0750 /run/mikaka
USER mikaka
# /etc/mikaka/mikaka.conf is the package's default (phones 801 and 802): their secrets are
# generated in the state volume (owned by mikaka) at the first start and printed once to the
# container's log (docker compose logs); `mikaka phones show` prints them again.
VOLUME ["/etc/mikaka", "/var/lib/mikaka"]
# Exit 78 (configuration) and 73 (unwritable state) are not worth restarting for; see mikakad(8).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["mikaka", "-s", "/run/mikaka/mikaka.ctl", "core", "show", "version"]
ENTRYPOINT ["/usr/sbin/mikakad", "-C", "/etc/mikaka", "-s", "/run/mikaka/mikaka.ctl", \
            "-d", "/var/lib/mikaka/mikaka.db"]
