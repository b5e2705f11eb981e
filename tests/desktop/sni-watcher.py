#!/usr/bin/python3
"""A StatusNotifierWatcher for the tests: what a desktop's panel runs (KDE, XFCE, GNOME with the
AppIndicator extension) so that tray icons can register as StatusNotifierItems over D-Bus.

Debian has no package that is only a watcher, so the tests bring this one. It owns
org.kde.StatusNotifierWatcher on the session bus, says a host is present (tray libraries
register only then), and prints one line per registered item, `registered SERVICE PATH`, so a
test can wait for the tray icon. `ready` is printed once the name is owned.

    DBUS_SESSION_BUS_ADDRESS=... /usr/bin/python3 sni-watcher.py   (Debian's Python: python3-gi)
"""
import sys

from gi.repository import Gio, GLib

INTERFACE = """
<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
  </interface>
</node>
"""
PATH = "/StatusNotifierWatcher"
NAME = "org.kde.StatusNotifierWatcher"
items = []


def say(line):
    print(line, flush=True)


def on_call(conn, sender, path, iface, method, params, invocation):
    if method == "RegisterStatusNotifierItem":
        (service,) = params.unpack()
        # An item may pass its object path (libayatana does) or its bus name (the spec's
        # example); either way the item lives on the caller's connection.
        if service.startswith("/"):
            bus_name, item_path = sender, service
        else:
            bus_name, item_path = service, "/StatusNotifierItem"
        entry = f"{bus_name}{item_path}"
        if entry not in items:
            items.append(entry)
        say(f"registered {bus_name} {item_path}")
        conn.emit_signal(None, PATH, "org.kde.StatusNotifierWatcher",
                         "StatusNotifierItemRegistered", GLib.Variant("(s)", (entry,)))
    invocation.return_value(None)


def on_get(conn, sender, path, iface, prop):
    if prop == "RegisteredStatusNotifierItems":
        return GLib.Variant("as", items)
    if prop == "IsStatusNotifierHostRegistered":
        return GLib.Variant("b", True)
    if prop == "ProtocolVersion":
        return GLib.Variant("i", 0)
    return None


def main():
    loop = GLib.MainLoop()
    node = Gio.DBusNodeInfo.new_for_xml(INTERFACE)

    def on_bus(conn, _name):
        conn.register_object(PATH, node.interfaces[0], on_call, on_get, None)

    def on_name(_conn, _name):
        say("ready")

    def on_lost(_conn, _name):
        say("lost the watcher's name (another watcher runs on this bus?)")
        sys.exit(1)

    Gio.bus_own_name(Gio.BusType.SESSION, NAME, Gio.BusNameOwnerFlags.NONE, on_bus, on_name, on_lost)
    loop.run()


if __name__ == "__main__":
    main()
