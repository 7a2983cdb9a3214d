// libsystemd (Debian's libsystemd-dev). Only Sources/MNAgent/Systemd/SystemdNotifier.swift calls it.
#include <systemd/sd-daemon.h>
