// hiredis 0.14 (Debian's libhiredis-dev). Only Sources/MNAgent/Redis/Hiredis.swift calls it.
#include <hiredis/hiredis.h>
