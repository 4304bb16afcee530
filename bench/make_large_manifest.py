#!/usr/bin/env python3
"""Write corpora/copyleft-large.toml: 200+ widely used copyleft projects, pinned.

The selection is the table ``SELECTION`` below (the rule is in corpora/README.md). For each
Debian row the script asks the configured apt suites, through licscan's own private apt state
(``licscan.corpus.apt``: deb-src entries derived from the machine's sources), which versions are
offered, pins the newest, and copies the .dsc's SHA-256 and the tarballs' sizes out of
``apt-cache showsrc``. Nothing is downloaded for Debian rows. PyPI and npm rows carry their pins
and checksums here (taken from one real download each, see ``ARCHIVES``); ``--check-archives``
downloads them again and compares.

    python bench/make_large_manifest.py                  # rewrite the manifest, print the summary
    python bench/make_large_manifest.py --check          # fail if the committed manifest is stale
    python bench/make_large_manifest.py --check-archives # re-download the PyPI/npm pins, compare

A package missing from the suites stops the script: the selection stays all-offered.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from debian_offers import show_debian_source  # noqa: E402

from licscan.corpus.fetch import cache_dir  # noqa: E402
from licscan.model import LicscanError  # noqa: E402

OUT = ROOT / "corpora" / "copyleft-large.toml"

# Unpacked bytes per compressed byte. Measured on the ten sources fetched end to end
# (corpora/README.md, "Size"): .xz 3.0-9.5 (median 6.9; linux 9.5), .gz/.tgz 3.7-6.4;
# .bz2 and .zip are not among them and get a guess.
EXPANSION = {".xz": 6.0, ".bz2": 5.0, ".gz": 5.0, ".tgz": 5.0, ".zip": 3.0}

# `spec | languages | license`. A spec is a Debian source package, `pypi NAME==VERSION` or
# `npm NAME@VERSION`. Languages are the main ones of the tree (most code first), named as
# licscan.corpus.manifest.LANGUAGES names them. `## text` starts a section of the manifest.
SELECTION = """
## Kernel, toolchain, C library, debuggers
linux                       | c                          | GPL-2.0-only
gcc-12                      | c, cpp                     | GPL-3.0-or-later
glibc                       | c                          | LGPL-2.1-or-later
binutils                    | c                          | GPL-3.0-or-later
gdb                         | c, cpp, python             | GPL-3.0-or-later
make-dfsg                   | c                          | GPL-3.0-or-later
elfutils                    | c                          | GPL-3.0-or-later OR LGPL-3.0-or-later
valgrind                    | c                          | GPL-2.0-or-later
strace                      | c                          | LGPL-2.1-or-later
ltrace                      | c                          | GPL-2.0-or-later
bison                       | c                          | GPL-3.0-or-later
m4                          | c                          | GPL-3.0-or-later
autoconf                    | shell, perl                | GPL-3.0-or-later
automake-1.16               | perl, shell                | GPL-2.0-or-later
libtool                     | shell, c                   | GPL-2.0-or-later
gettext                     | c                          | GPL-3.0-or-later
texinfo                     | perl, c                    | GPL-3.0-or-later
guile-3.0                   | c, scheme                  | LGPL-3.0-or-later
gmp                         | c                          | LGPL-3.0-or-later OR GPL-2.0-or-later
mpfr4                       | c                          | LGPL-3.0-or-later
## GNU and Linux userland
coreutils                   | c                          | GPL-3.0-or-later
grep                        | c                          | GPL-3.0-or-later
sed                         | c                          | GPL-3.0-or-later
gawk                        | c                          | GPL-3.0-or-later
tar                         | c                          | GPL-3.0-or-later
gzip                        | c                          | GPL-3.0-or-later
findutils                   | c                          | GPL-3.0-or-later
diffutils                   | c                          | GPL-3.0-or-later
cpio                        | c                          | GPL-3.0-or-later
bash                        | c, shell                   | GPL-3.0-or-later
readline                    | c                          | GPL-3.0-or-later
nano                        | c                          | GPL-3.0-or-later
screen                      | c                          | GPL-3.0-or-later
less                        | c                          | GPL-3.0-or-later OR BSD-2-Clause
wget                        | c                          | GPL-3.0-or-later
rsync                       | c                          | GPL-3.0-or-later
parallel                    | perl                       | GPL-3.0-or-later
busybox                     | c                          | GPL-2.0-only
util-linux                  | c                          | GPL-2.0-or-later
systemd                     | c                          | LGPL-2.1-or-later
procps                      | c                          | GPL-2.0-or-later
psmisc                      | c                          | GPL-2.0-or-later
e2fsprogs                   | c                          | GPL-2.0-only
btrfs-progs                 | c                          | GPL-2.0-only
xfsprogs                    | c                          | GPL-2.0-only
lvm2                        | c                          | GPL-2.0-only
mdadm                       | c                          | GPL-2.0-or-later
cryptsetup                  | c                          | GPL-2.0-or-later
parted                      | c                          | GPL-3.0-or-later
grub2                       | c                          | GPL-3.0-or-later
u-boot                      | c                          | GPL-2.0-or-later
dpkg                        | c, perl                    | GPL-2.0-or-later
apt                         | cpp                        | GPL-2.0-or-later
aptitude                    | cpp                        | GPL-2.0-or-later
iptables                    | c                          | GPL-2.0-only
nftables                    | c                          | GPL-2.0-only
iproute2                    | c                          | GPL-2.0-or-later
network-manager             | c                          | GPL-2.0-or-later
dbus                        | c                          | GPL-2.0-or-later OR AFL-2.1
avahi                       | c                          | LGPL-2.1-or-later
alsa-lib                    | c                          | LGPL-2.1-or-later
alsa-utils                  | c                          | GPL-2.0-or-later
pulseaudio                  | c                          | LGPL-2.1-or-later
htop                        | c                          | GPL-2.0-or-later
mc                          | c                          | GPL-3.0-or-later
mutt                        | c                          | GPL-2.0-or-later
neomutt                     | c                          | GPL-2.0-or-later
irssi                       | c                          | GPL-2.0-or-later
weechat                     | c                          | GPL-3.0-or-later
## Cryptography
gnupg2                      | c                          | GPL-3.0-or-later
libgcrypt20                 | c                          | LGPL-2.1-or-later
gnutls28                    | c                          | LGPL-2.1-or-later
nettle                      | c                          | LGPL-3.0-or-later OR GPL-2.0-or-later
## Virtualization and containers
qemu                        | c                          | GPL-2.0-only
libvirt                     | c                          | LGPL-2.1-or-later
xen                         | c                          | GPL-2.0-only
lxc                         | c                          | LGPL-2.1-or-later
## Servers, databases, networking
mariadb                     | cpp, c                     | GPL-2.0-only
samba                       | c, python                  | GPL-3.0-or-later
wireshark                   | c, cpp                     | GPL-2.0-or-later
bind9                       | c                          | MPL-2.0
dnsmasq                     | c                          | GPL-2.0-or-later
openvpn                     | c                          | GPL-2.0-only
strongswan                  | c                          | GPL-2.0-or-later
freeradius                  | c                          | GPL-2.0-or-later
squid                       | cpp                        | GPL-2.0-or-later
exim4                       | c                          | GPL-2.0-or-later
dovecot                     | c                          | LGPL-2.1-only AND MIT
haproxy                     | c                          | GPL-2.0-or-later
keepalived                  | c                          | GPL-2.0-or-later
frr                         | c                          | GPL-2.0-or-later
bird2                       | c                          | GPL-2.0-or-later
proftpd-dfsg                | c                          | GPL-2.0-or-later
vsftpd                      | c                          | GPL-2.0-only
389-ds-base                 | c, python, rust            | GPL-3.0-or-later
sssd                        | c                          | GPL-3.0-or-later
nagios4                     | c                          | GPL-2.0-only
icinga2                     | cpp                        | GPL-2.0-or-later
zabbix                      | c, php, javascript         | GPL-2.0-or-later
collectd                    | c                          | GPL-2.0-only
netdata                     | c, javascript              | GPL-3.0-or-later
rrdtool                     | c                          | GPL-2.0-or-later
cockpit                     | javascript, c, python      | LGPL-2.1-or-later
## Multimedia
ffmpeg                      | c                          | LGPL-2.1-or-later AND GPL-2.0-or-later
vlc                         | c, cpp                     | GPL-2.0-or-later AND LGPL-2.1-or-later
mpv                         | c                          | GPL-2.0-or-later
mplayer                     | c                          | GPL-2.0-or-later
x264                        | c                          | GPL-2.0-or-later
lame                        | c                          | LGPL-2.0-or-later
sox                         | c                          | GPL-2.0-or-later AND LGPL-2.1-or-later
gstreamer1.0                | c                          | LGPL-2.1-or-later
gst-plugins-base1.0         | c                          | LGPL-2.1-or-later
gst-plugins-good1.0         | c                          | LGPL-2.1-or-later
obs-studio                  | c, cpp                     | GPL-2.0-or-later
handbrake                   | c                          | GPL-2.0-only
kodi                        | cpp                        | GPL-2.0-or-later
audacity                    | cpp                        | GPL-2.0-or-later
ardour                      | cpp                        | GPL-2.0-or-later
musescore3                  | cpp                        | GPL-2.0-only
lmms                        | cpp                        | GPL-2.0-or-later
hydrogen                    | cpp                        | GPL-2.0-or-later
## Documents and PDF
ghostscript                 | c                          | AGPL-3.0-or-later
poppler                     | cpp                        | GPL-2.0-or-later
mupdf                       | c                          | AGPL-3.0-or-later
libreoffice                 | cpp, java, python          | MPL-2.0
gnumeric                    | c                          | GPL-2.0-only OR GPL-3.0-only
abiword                     | cpp                        | GPL-2.0-or-later
scribus                     | cpp                        | GPL-2.0-or-later
calibre                     | python, c, cpp             | GPL-3.0-only
## Browsers and mail clients
firefox-esr                 | cpp, javascript, rust      | MPL-2.0
webkit2gtk                  | cpp                        | LGPL-2.1-or-later AND BSD-2-Clause
epiphany-browser            | c                          | GPL-3.0-or-later
evolution                   | c                          | LGPL-2.1-or-later
evolution-data-server       | c                          | LGPL-2.1-or-later
pidgin                      | c                          | GPL-2.0-or-later
hexchat                     | c                          | GPL-2.0-or-later
transmission                | c, cpp                     | GPL-2.0-only OR GPL-3.0-only
qbittorrent                 | cpp                        | GPL-2.0-or-later
telegram-desktop            | cpp                        | GPL-3.0-only
keepassxc                   | cpp                        | GPL-2.0-only OR GPL-3.0-only
## GNOME and GTK
glib2.0                     | c                          | LGPL-2.1-or-later
gtk+3.0                     | c                          | LGPL-2.1-or-later
gtk4                        | c                          | LGPL-2.1-or-later
vte2.91                     | c, cpp                     | LGPL-3.0-or-later
mutter                      | c                          | GPL-2.0-or-later
gnome-shell                 | javascript, c              | GPL-2.0-or-later
gnome-shell-extensions      | javascript                 | GPL-2.0-or-later
gnome-shell-extension-gsconnect | javascript             | GPL-2.0-or-later
gnome-shell-extension-dash-to-panel | javascript         | GPL-2.0-or-later
gnome-shell-extension-appindicator | javascript          | GPL-2.0-or-later
gnome-control-center        | c                          | GPL-2.0-or-later
gnome-settings-daemon       | c                          | GPL-2.0-or-later
gdm3                        | c                          | GPL-2.0-or-later
nautilus                    | c                          | GPL-3.0-or-later
evince                      | c                          | GPL-2.0-or-later
gedit                       | c                          | GPL-2.0-or-later
totem                       | c                          | GPL-2.0-or-later
rhythmbox                   | c                          | GPL-2.0-or-later
gnome-terminal              | c, cpp                     | GPL-3.0-or-later
gnome-builder               | c                          | GPL-3.0-or-later
gnome-software              | c                          | GPL-2.0-or-later
gnome-disk-utility          | c                          | GPL-2.0-or-later
file-roller                 | c                          | GPL-2.0-or-later
eog                         | c                          | GPL-2.0-or-later
cheese                      | c, vala                    | GPL-2.0-or-later
gnome-system-monitor        | cpp, c                     | GPL-2.0-or-later
gnome-calculator            | vala                       | GPL-3.0-or-later
gnome-maps                  | javascript                 | GPL-2.0-or-later
gnome-weather               | javascript                 | GPL-2.0-or-later
gnome-sound-recorder        | javascript                 | GPL-3.0-or-later
gnome-characters            | javascript, c              | GPL-2.0-or-later
polari                      | javascript                 | GPL-2.0-or-later
geary                       | vala                       | LGPL-2.1-or-later
shotwell                    | vala                       | LGPL-2.1-or-later
gitg                        | vala                       | GPL-2.0-or-later
baobab                      | vala                       | GPL-2.0-or-later
dconf-editor                | vala                       | GPL-3.0-or-later
gnome-boxes                 | vala                       | LGPL-2.1-or-later
seahorse                    | vala, c                    | GPL-2.0-or-later
rygel                       | vala, c                    | LGPL-2.1-or-later
deja-dup                    | vala                       | GPL-3.0-or-later
cinnamon                    | javascript, c, python      | GPL-2.0-or-later
gnome-music                 | python                     | GPL-2.0-or-later
gnome-tweaks                | python                     | GPL-3.0-or-later
## Other desktops
xfce4-panel                 | c                          | GPL-2.0-or-later
thunar                      | c                          | GPL-2.0-or-later
xfwm4                       | c                          | GPL-2.0-or-later
lightdm                     | c                          | GPL-3.0-or-later
openbox                     | c                          | GPL-2.0-or-later
awesome                     | c, lua                     | GPL-2.0-or-later
geany                       | c                          | GPL-2.0-or-later
## Qt and KDE
qtbase-opensource-src       | cpp                        | LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only
qtdeclarative-opensource-src | cpp, javascript           | LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only
qt6-base                    | cpp                        | LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only
qtcreator                   | cpp                        | GPL-3.0-only WITH Qt-GPL-exception-1.0
kcoreaddons                 | cpp                        | LGPL-2.0-or-later
kio                         | cpp                        | LGPL-2.0-or-later
ktexteditor                 | cpp                        | LGPL-2.0-or-later
kwin                        | cpp                        | GPL-2.0-or-later
plasma-workspace            | cpp                        | GPL-2.0-or-later
konsole                     | cpp                        | GPL-2.0-or-later
dolphin                     | cpp                        | GPL-2.0-or-later
kate                        | cpp                        | LGPL-2.0-or-later
okular                      | cpp                        | GPL-2.0-or-later
kdevelop                    | cpp                        | GPL-2.0-or-later
k3b                         | cpp                        | GPL-2.0-or-later
kmail                       | cpp                        | GPL-2.0-or-later
akregator                   | cpp                        | GPL-2.0-or-later
konversation                | cpp                        | GPL-2.0-or-later
gwenview                    | cpp                        | GPL-2.0-or-later
ark                         | cpp                        | GPL-2.0-or-later
elisa-player                | cpp                        | LGPL-3.0-or-later
kdenlive                    | cpp                        | GPL-3.0-or-later
krita                       | cpp, python                | GPL-3.0-or-later
digikam                     | cpp                        | GPL-2.0-or-later
calligra                    | cpp                        | GPL-2.0-or-later AND LGPL-2.0-or-later
kstars                      | cpp                        | GPL-2.0-or-later
marble                      | cpp                        | LGPL-2.1-or-later
kdeconnect                  | cpp                        | GPL-2.0-or-later
kmymoney                    | cpp                        | GPL-2.0-or-later
krusader                    | cpp                        | GPL-2.0-or-later
## Graphics, CAD, science
gimp                        | c                          | GPL-3.0-or-later
inkscape                    | cpp                        | GPL-2.0-or-later
blender                     | c, cpp, python             | GPL-2.0-or-later
darktable                   | c                          | GPL-3.0-or-later
rawtherapee                 | cpp                        | GPL-3.0-or-later
hugin                       | cpp                        | GPL-2.0-or-later
mypaint                     | python, cpp                | GPL-2.0-or-later
kicad                       | cpp                        | GPL-3.0-or-later
freecad                     | cpp, python                | LGPL-2.0-or-later
librecad                    | cpp                        | GPL-2.0-only
openscad                    | cpp                        | GPL-2.0-or-later
gnuradio                    | cpp, python                | GPL-3.0-or-later
octave                      | cpp                        | GPL-3.0-or-later
r-base                      | c, r, fortran              | GPL-2.0-or-later
maxima                      | lisp                       | GPL-2.0-only
gnucash                     | c, cpp, scheme             | GPL-2.0-or-later
## Games and emulators
0ad                         | cpp, javascript            | GPL-2.0-or-later
minetest                    | cpp, lua                   | LGPL-2.1-or-later
openttd                     | cpp                        | GPL-2.0-only
freeciv                     | c                          | GPL-2.0-or-later
scummvm                     | cpp                        | GPL-3.0-or-later
dosbox                      | cpp                        | GPL-2.0-or-later
mame                        | cpp                        | GPL-2.0-or-later
flightgear                  | cpp                        | GPL-2.0-or-later
gcompris-qt                 | cpp, javascript            | GPL-3.0-or-later
dolphin-emu                 | cpp                        | GPL-2.0-or-later
retroarch                   | c                          | GPL-3.0-or-later
mgba                        | c                          | MPL-2.0
## Emacs and Lisp
emacs                       | c, lisp                    | GPL-3.0-or-later
magit                       | lisp                       | GPL-3.0-or-later
auctex                      | lisp                       | GPL-3.0-or-later
stumpwm                     | lisp                       | GPL-2.0-or-later
## Python
ansible                     | python                     | GPL-3.0-or-later
pypi ansible-core==2.14.18  | python                     | GPL-3.0-or-later
pylint                      | python                     | GPL-2.0-or-later
astroid                     | python                     | LGPL-2.1-or-later
mercurial                   | python, c, rust            | GPL-2.0-or-later
breezy                      | python                     | GPL-2.0-or-later
duplicity                   | python                     | GPL-2.0-or-later
mailman3                    | python                     | GPL-3.0-or-later
meld                        | python                     | GPL-2.0-or-later
gramps                      | python                     | GPL-2.0-or-later
hplip                       | c, python                  | GPL-2.0-or-later
gajim                       | python                     | GPL-3.0-only
deluge                      | python                     | GPL-3.0-or-later
picard                      | python                     | GPL-2.0-or-later
quodlibet                   | python                     | GPL-2.0-or-later
pyqt5                       | python, cpp                | GPL-3.0-only
pygobject                   | c, python                  | LGPL-2.1-or-later
pygame                      | c, python                  | LGPL-2.1-or-later
paramiko                    | python                     | LGPL-2.1-or-later
chardet                     | python                     | LGPL-2.1-or-later
psycopg2                    | c, python                  | LGPL-3.0-or-later
mutagen                     | python                     | GPL-2.0-or-later
frescobaldi                 | python                     | GPL-2.0-or-later
solaar                      | python                     | GPL-2.0-or-later
terminator                  | python                     | GPL-2.0-only
virt-manager                | python                     | GPL-2.0-or-later
cura                        | python                     | LGPL-3.0-or-later
orca                        | python                     | LGPL-2.1-or-later
system-config-printer       | python                     | GPL-2.0-or-later
blueman                     | python, c                  | GPL-3.0-or-later
gpodder                     | python                     | GPL-3.0-or-later
bleachbit                   | python                     | GPL-3.0-or-later
xpra                        | python, c                  | GPL-2.0-or-later
onionshare                  | python                     | GPL-3.0-or-later
sosreport                   | python                     | GPL-2.0-or-later
linkchecker                 | python                     | GPL-2.0-or-later
offlineimap3                | python                     | GPL-2.0-or-later
ranger                      | python                     | GPL-3.0-or-later
glances                     | python                     | LGPL-3.0-only
autokey                     | python                     | GPL-3.0-or-later
kdiff3                      | cpp                        | GPL-2.0-or-later
openshot-qt                 | python                     | GPL-3.0-or-later
pdfarranger                 | python                     | GPL-3.0-or-later
fail2ban                    | python                     | GPL-2.0-or-later
ufw                         | python                     | GPL-3.0-only
firewalld                   | python                     | GPL-2.0-or-later
tuned                       | python                     | GPL-2.0-or-later
unattended-upgrades         | python                     | GPL-2.0-or-later
python-apt                  | cpp, python                | GPL-2.0-or-later
qutebrowser                 | python                     | GPL-3.0-or-later
mat2                        | python                     | LGPL-3.0-or-later
pypi pyinstaller==6.11.1    | python, c                  | GPL-2.0-or-later WITH Bootloader-exception
pypi trytond==8.2.1         | python                     | GPL-3.0-or-later
## Java
openjdk-17                  | java, cpp                  | GPL-2.0-only WITH Classpath-exception-2.0
openjfx                     | java, cpp                  | GPL-2.0-only WITH Classpath-exception-2.0
icedtea-web                 | java                       | GPL-2.0-only WITH Classpath-exception-2.0
jedit                       | java                       | GPL-2.0-or-later
josm                        | java                       | GPL-2.0-or-later
sweethome3d                 | java                       | GPL-2.0-or-later
arduino                     | java                       | GPL-2.0-or-later AND LGPL-2.1-or-later
tuxguitar                   | java                       | LGPL-2.1-or-later
weka                        | java                       | GPL-3.0-or-later
libjfreechart-java          | java                       | LGPL-2.1-or-later
jmol                        | java                       | LGPL-2.1-or-later
freeplane                   | java                       | GPL-2.0-or-later
libjlatexmath-java          | java                       | GPL-2.0-or-later WITH Classpath-exception-2.0
saxonhe                     | java                       | MPL-2.0
mkgmap                      | java                       | GPL-2.0-only OR GPL-3.0-only
## C#
keepass2                    | csharp                     | GPL-2.0-or-later
gbrainy                     | csharp                     | GPL-2.0-or-later
gnome-subtitles             | csharp                     | GPL-2.0-or-later
bless                       | csharp                     | GPL-2.0-or-later
gtk-sharp3                  | csharp                     | LGPL-2.1-only
taglib-sharp                | csharp                     | LGPL-2.1-only
## Go
snapd                       | go                         | GPL-3.0-only
syncthing                   | go                         | MPL-2.0
packer                      | go                         | MPL-2.0
golang-github-hashicorp-hcl | go                         | MPL-2.0
golang-github-hashicorp-memberlist | go                  | MPL-2.0
golang-github-hashicorp-raft | go                        | MPL-2.0
golang-github-hashicorp-serf | go                        | MPL-2.0
golang-github-hashicorp-yamux | go                       | MPL-2.0
golang-github-hashicorp-go-version | go                  | MPL-2.0
golang-github-hashicorp-go-multierror | go               | MPL-2.0
golang-github-hashicorp-go-immutable-radix | go          | MPL-2.0
golang-github-hashicorp-golang-lru | go                  | MPL-2.0
golang-github-hashicorp-go-retryablehttp | go            | MPL-2.0
golang-github-hashicorp-go-plugin | go                   | MPL-2.0
golang-github-go-sql-driver-mysql | go                   | MPL-2.0
golang-github-juju-errors   | go                         | LGPL-3.0-only
golang-github-juju-ansiterm | go                         | LGPL-3.0-only
## Rust
librsvg                     | rust, c                    | LGPL-2.1-or-later
rust-sequoia-openpgp        | rust                       | LGPL-2.0-or-later
rust-sequoia-sq             | rust                       | GPL-2.0-or-later
rust-sequoia-ipc            | rust                       | LGPL-2.0-or-later
rust-sequoia-net            | rust                       | LGPL-2.0-or-later
rust-buffered-reader        | rust                       | LGPL-2.0-or-later
rust-sniffglue              | rust                       | GPL-3.0-only
rust-cbindgen               | rust                       | MPL-2.0
rust-cssparser              | rust                       | MPL-2.0
rust-selectors              | rust                       | MPL-2.0
rust-nettle                 | rust                       | LGPL-3.0-or-later OR GPL-2.0-or-later
## Ruby
redmine                     | ruby, javascript           | GPL-2.0-or-later
ruby-gnome                  | ruby, c                    | LGPL-2.1-or-later
ruby-gettext                | ruby                       | Ruby OR LGPL-3.0-or-later
ruby-locale                 | ruby                       | Ruby OR LGPL-3.0-or-later
ruby-rchardet               | ruby                       | LGPL-2.1-or-later
ruby-gpgme                  | ruby, c                    | LGPL-2.1-or-later
ruby-dbus                   | ruby                       | LGPL-2.1-or-later
ruby-augeas                 | ruby, c                    | LGPL-2.1-or-later
ruby-libvirt                | c, ruby                    | LGPL-2.1-or-later
ruby-gsl                    | c, ruby                    | GPL-2.0-or-later
## PHP
wordpress                   | php, javascript            | GPL-2.0-or-later
mediawiki                   | php, javascript            | GPL-2.0-or-later
roundcube                   | php, javascript            | GPL-3.0-or-later
phpmyadmin                  | php, javascript            | GPL-2.0-or-later
icingaweb2                  | php, javascript            | GPL-2.0-or-later
cacti                       | php                        | GPL-2.0-or-later
postfixadmin                | php                        | GPL-2.0-or-later
dokuwiki                    | php                        | GPL-2.0-only
tcpdf                       | php                        | LGPL-3.0-or-later
libphp-phpmailer            | php                        | LGPL-2.1-only
smarty4                     | php                        | LGPL-3.0-only
php-horde-core              | php                        | LGPL-2.1-only
php-horde-imp               | php, javascript            | GPL-2.0-only
php-horde-kronolith         | php, javascript            | GPL-2.0-only
php-dompdf                  | php                        | LGPL-2.1-only
php-font-lib                | php                        | LGPL-2.1-or-later
php-getid3                  | php                        | GPL-1.0-or-later OR LGPL-3.0-only OR MPL-2.0
## JavaScript
ckeditor                    | javascript                 | GPL-2.0-or-later OR LGPL-2.1-or-later OR MPL-1.1
npm ckeditor4@4.22.1        | javascript                 | GPL-2.0-or-later OR LGPL-2.1-or-later OR MPL-1.1
npm tinymce@7.6.1           | javascript                 | GPL-2.0-or-later
npm ckeditor5@43.3.1        | javascript                 | GPL-2.0-or-later
npm openpgp@6.1.0           | javascript                 | LGPL-3.0-or-later
npm web3@4.16.0             | javascript, typescript     | LGPL-3.0-only
npm pm2@5.4.3               | javascript                 | AGPL-3.0-only
npm @nextcloud/vue@8.22.0   | javascript, typescript     | AGPL-3.0-or-later
npm @nextcloud/files@3.10.1 | javascript, typescript     | AGPL-3.0-or-later
## Haskell and OCaml
pandoc                      | haskell                    | GPL-2.0-or-later
git-annex                   | haskell                    | AGPL-3.0-or-later
shellcheck                  | haskell                    | GPL-3.0-or-later
haskell-hledger             | haskell                    | GPL-3.0-or-later
coq                         | ocaml                      | LGPL-2.1-only
## Perl
perl                        | c, perl                    | GPL-1.0-or-later OR Artistic-1.0-Perl
request-tracker5            | perl, javascript           | GPL-2.0-only
munin                       | perl                       | GPL-2.0-only
shorewall                   | perl, shell                | GPL-2.0-or-later
ikiwiki                     | perl                       | GPL-2.0-or-later
libimage-exiftool-perl      | perl                       | GPL-1.0-or-later OR Artistic-1.0-Perl
devscripts                  | perl, shell, python        | GPL-2.0-or-later
lintian                     | perl                       | GPL-2.0-or-later
debhelper                   | perl                       | GPL-2.0-or-later
"""

# PyPI and npm pins: (sha256 of the archive, its size in bytes), from one real download each
# (`--check-archives` repeats it). PyPI sources are sdists; npm tarballs are what `npm pack` gets.
ARCHIVES: dict[str, tuple[str, int]] = {
    "ansible-core==2.14.18": ("a953acb0db9e851c7044da9876b98924b7c2941148cab0c45f094309f17f8fd7", 3116929),
    "pyinstaller==6.11.1": ("491dfb4d9d5d1d9650d9507daec1ff6829527a254d8e396badd60a0affcb72ef", 4249772),
    "trytond==8.2.1": ("92d6ba5ab45eca20496de375993ed7f796f447bbceeb313a9ed55f2e68d55a7e", 974652),
    "ckeditor4@4.22.1": ("5686be153455f210d2fbe0030d801a5b316fea8f0cad0b55d2edb56bd76846d8", 2355359),
    "tinymce@7.6.1": ("90feb6e88d783a2b0981258b4f6adb70a194f0f13454c91a5d4406df88e92a4b", 1706231),
    "ckeditor5@43.3.1": ("d7520107a665cebd10b0adcc4139988d61af436044f92dc649a5eb2ae6b9d748", 7300252),
    "openpgp@6.1.0": ("f1d27cf95d4a96f0e6ab30c0b93c887a16883c8bcfdf896fdc988b22acbde5ff", 4284395),
    "web3@4.16.0": ("1a8638aff7a7ab230cb9f9b0c4fadce33381a23fbd4e949e7238360849cebee1", 771875),
    "pm2@5.4.3": ("fee85ec006a4aaf8f13fe4d7a3bceadc2353f381e9fd4ff96a245013144f965f", 214127),
    "@nextcloud/vue@8.22.0": ("00d09bef6de4f620cba402d681677f242d52cc2b3df3707faea5f4409a9ea3a3", 2533854),
    "@nextcloud/files@3.10.1": ("2d3735af57ab82ebbe45ed9f9ef51929c6861f263124b56d4592de3aa4ed711b", 206333),
}


@dataclass
class Row:
    spec: str
    languages: list[str]
    license: str
    section: str
    kind: str = "debian"
    version: str = ""
    sha256: str = ""
    files: dict[str, int] = field(default_factory=dict)

    @property
    def download_bytes(self) -> int:
        return sum(self.files.values())

    @property
    def unpacked_estimate(self) -> int:
        total = 0
        for name, size in self.files.items():
            ratio = next((r for ext, r in EXPANSION.items() if name.endswith(ext)), 1.0)
            total += int(size * ratio) if not name.endswith(".dsc") else 0
        return total


def parse_selection(text: str = SELECTION) -> list[Row]:
    rows: list[Row] = []
    section = ""
    for line in text.strip().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        spec, langs, lic = (c.strip() for c in line.split("|"))
        kind, _, rest = spec.partition(" ")
        row = Row(spec, [x.strip() for x in langs.split(",")], lic, section)
        if kind in ("pypi", "npm"):
            row.kind, row.spec = kind, rest.strip()
        rows.append(row)
    return rows


def dpkg_newer(a: str, b: str) -> bool:
    return subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0


def pin_debian(row: Row, work: Path) -> None:
    """The newest version the suites offer outside the security archive, its .dsc SHA-256 and its
    files' sizes. The security archive's pool (``pool/updates/``) answers 404 through this
    workplace's mirror (tried: linux 6.1.192-3, roundcube +deb12u14), and it drops a version as
    soon as the next fix lands, so its versions make pins that break; a version offered by both
    is fetched from the main archive, which apt prefers."""
    offers = [o for o in show_debian_source(row.spec, work) if not o["directory"].startswith("pool/updates/")]
    if not offers:
        raise LicscanError(f"{row.spec}: offered only by the security archive")
    best = offers[0]
    for o in offers[1:]:
        if dpkg_newer(o["version"], best["version"]):
            best = o
    dsc = [n for n in best["files"] if n.endswith(".dsc")]
    if len(dsc) != 1 or dsc[0] not in best["sha256"]:
        raise SystemExit(f"{row.spec} {best['version']}: no .dsc checksum in apt's metadata")
    row.version, row.sha256, row.files = best["version"], best["sha256"][dsc[0]], best["files"]


def pin_archive(row: Row) -> None:
    if row.spec not in ARCHIVES:
        raise SystemExit(f"{row.kind} {row.spec}: no pin in ARCHIVES; run with --check-archives to get it")
    sha, size = ARCHIVES[row.spec]
    row.sha256 = sha
    row.files = {row.spec + (".tar.gz" if row.kind == "pypi" else ".tgz"): size}


def download_archive(row: Row) -> tuple[str, int]:
    """Download one PyPI sdist or npm tarball with the machine's client; its SHA-256 and size."""
    with tempfile.TemporaryDirectory() as d:
        if row.kind == "pypi":
            cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                   "--disable-pip-version-check", "-q", "-d", d, row.spec]
        else:
            cmd = ["npm", "pack", "--ignore-scripts", "--silent", row.spec]
        subprocess.run(cmd, cwd=d, check=True, capture_output=True, stdin=subprocess.DEVNULL)
        (got,) = [p for p in Path(d).iterdir() if p.is_file()]
        return hashlib.sha256(got.read_bytes()).hexdigest(), got.stat().st_size


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(rows: list[Row]) -> str:
    total = sum(r.download_bytes for r in rows)
    languages = {x for r in rows for x in r.languages}
    out = [
        "# Generated by bench/make_large_manifest.py: edit its SELECTION table and rerun, not this file.",
        "# Widely used copyleft projects in many languages: what assistants have most likely",
        "# read. Selection rule, origins and sizes: corpora/README.md.",
        "#",
        "# Debian sources are pinned to the newest version the configured suites offered when the",
        "# file was generated, with the .dsc's sha256 (it pins every tarball by checksum).",
        "# Each source names its main languages (most code first) and, in a comment, its main",
        "# license and the bytes apt downloads; per-file license detection still decides each file.",
        "#",
        "#   licscan corpus fetch copyleft-large        # resumable: rerun after an interruption",
        f"#   (about {total / 1e9:.1f} GB of downloads, more unpacked: see corpora/README.md)",
        'name = "copyleft-large"',
        f'description = "{len(rows)} widely used copyleft projects in {len(languages)} languages '
        '(Debian, PyPI, npm); large"',
    ]
    section = None
    for r in rows:
        if r.section != section:
            section = r.section
            out += ["", f"# --- {section} " + "-" * max(3, 84 - len(section))]
        out += ["", f"# {r.license}; {r.download_bytes / 1e6:,.1f} MB", "[[source]]"]
        if r.kind == "debian":
            out += [f"debian = {_toml_str(r.spec)}", f"version = {_toml_str(r.version)}"]
        else:
            out += [f"{r.kind} = {_toml_str(r.spec)}"]
        out += [f"sha256 = {_toml_str(r.sha256)}",
                "languages = [" + ", ".join(_toml_str(x) for x in r.languages) + "]"]
    return "\n".join(out) + "\n"


def summary(rows: list[Row]) -> str:
    langs: Counter[str] = Counter(x for r in rows for x in r.languages)
    main: Counter[str] = Counter(r.languages[0] for r in rows)
    kinds = Counter(r.kind for r in rows)
    down = sum(r.download_bytes for r in rows)
    unpacked = sum(r.unpacked_estimate for r in rows)
    biggest = sorted(rows, key=lambda r: -r.download_bytes)[:10]
    lines = [f"sources: {len(rows)} ({', '.join(f'{k} {n}' for k, n in kinds.most_common())})",
             f"languages: {len(langs)}",
             "by language (sources naming it; as main language): "
             + ", ".join(f"{k} {n} ({main[k]})" for k, n in langs.most_common()),
             f"download: {down / 1e9:.2f} GB; unpacked (estimate): {unpacked / 1e9:.1f} GB",
             "largest: " + ", ".join(f"{r.spec} {r.download_bytes / 1e6:.0f} MB" for r in biggest)]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="fail if the committed manifest differs")
    ap.add_argument("--check-archives", action="store_true",
                    help="download the PyPI/npm pins again and compare (prints new pins)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rows = parse_selection()
    specs = [r.spec for r in rows]
    dup = [s for s, n in Counter(specs).items() if n > 1]
    if dup:
        raise SystemExit(f"listed twice: {', '.join(dup)}")
    work = cache_dir() / ".debian"  # licscan's own private apt state
    bad = 0
    missing = []
    for r in rows:
        if r.kind == "debian":
            try:
                pin_debian(r, work)
            except LicscanError as e:
                missing.append(f"{r.spec}: {e}")
            continue
        if args.check_archives:
            sha, size = download_archive(r)
            if ARCHIVES.get(r.spec) != (sha, size):
                print(f'    "{r.spec}": ("{sha}", {size}),', file=sys.stderr)
                bad += 1
                ARCHIVES[r.spec] = (sha, size)
        pin_archive(r)
    if missing:
        raise SystemExit("not offered by the configured suites:\n  " + "\n  ".join(missing))
    text = render(rows)
    if args.check:
        if args.out.read_text() != text:
            print(f"{args.out} is stale: rerun bench/make_large_manifest.py", file=sys.stderr)
            return 1
    else:
        args.out.write_text(text)
    print(summary(rows))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
