#!/bin/bash
# Debian after-install script of Unknot (electron-builder template: the words in
# dollar-brace are filled in when the package is built, so shell variables here are
# written as plain $NAME only).
#
# The first part repeats electron-builder's own after-install template (a custom
# script replaces it): the /usr/bin link, the chrome-sandbox mode, the desktop and MIME
# databases and the AppArmor profile. The last part is Unknot's: Bluetooth rights.

if type update-alternatives >/dev/null 2>&1; then
    # Remove a previous link that does not use update-alternatives
    if [ -L '/usr/bin/${executable}' -a -e '/usr/bin/${executable}' -a "`readlink '/usr/bin/${executable}'`" != '/etc/alternatives/${executable}' ]; then
        rm -f '/usr/bin/${executable}'
    fi
    update-alternatives --install '/usr/bin/${executable}' '${executable}' '/opt/${sanitizedProductName}/${executable}' 100 || ln -sf '/opt/${sanitizedProductName}/${executable}' '/usr/bin/${executable}'
else
    ln -sf '/opt/${sanitizedProductName}/${executable}' '/usr/bin/${executable}'
fi

# The SUID chrome-sandbox only where user namespaces are unavailable.
if ! { [[ -L /proc/self/ns/user ]] && unshare --user true; }; then
    chmod 4755 '/opt/${sanitizedProductName}/chrome-sandbox' || true
else
    chmod 0755 '/opt/${sanitizedProductName}/chrome-sandbox' || true
fi

if hash update-mime-database 2>/dev/null; then
    update-mime-database /usr/share/mime || true
fi

if hash update-desktop-database 2>/dev/null; then
    update-desktop-database /usr/share/applications || true
fi

# AppArmor profile (Ubuntu 24.04 and later), only when this AppArmor understands it.
if apparmor_status --enabled > /dev/null 2>&1; then
  APPARMOR_PROFILE_SOURCE='/opt/${sanitizedProductName}/resources/apparmor-profile'
  APPARMOR_PROFILE_TARGET='/etc/apparmor.d/${executable}'
  if apparmor_parser --skip-kernel-load --debug "$APPARMOR_PROFILE_SOURCE" > /dev/null 2>&1; then
    cp -f "$APPARMOR_PROFILE_SOURCE" "$APPARMOR_PROFILE_TARGET"
    if ! { [ -x '/usr/bin/ischroot' ] && /usr/bin/ischroot; } && hash apparmor_parser 2>/dev/null; then
      apparmor_parser --replace --write-cache --skip-read-cache "$APPARMOR_PROFILE_TARGET"
    fi
  else
    echo "Skipping the installation of the AppArmor profile as this version of AppArmor does not support it"
  fi
fi

# --- Bluetooth LE rights (docs/desktop.md, "Linux: Bluetooth permissions") ---
# noble talks to the adapter through raw HCI sockets, which need CAP_NET_RAW and
# CAP_NET_ADMIN. They are deliberately NOT given to the Electron executable: file
# capabilities put it in secure-execution mode, where the loader ignores its
# $ORIGIN library path and it no longer starts (electron/electron#4583), and every
# renderer and GPU process started from it would hold them too. They go only to the
# small BLE helper process, when this package ships one; without it Unknot reports
# the adapter as "unauthorized", explains what to do, and offers simulated devices.
BLE_HELPER='/opt/${sanitizedProductName}/resources/ble-helper/unknot-ble-helper'
if [ -f "$BLE_HELPER" ]; then
    if command -v setcap >/dev/null 2>&1; then
        setcap 'cap_net_raw,cap_net_admin+ep' "$BLE_HELPER" \
            || echo "Unknot: could not give Bluetooth rights to $BLE_HELPER (see the Bluetooth section of the Unknot documentation)." >&2
    else
        echo "Unknot: 'setcap' is missing (package libcap2-bin); Bluetooth devices will not be usable until it is installed and Unknot is reinstalled." >&2
    fi
fi

exit 0
