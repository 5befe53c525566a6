// libmosquitto (MQTT 3.1.1 and 5 client).
#ifndef INSPECTD_CMOSQUITTO_SHIM_H
#define INSPECTD_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
