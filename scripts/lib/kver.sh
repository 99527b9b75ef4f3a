# Sourced by scripts: which kernel versions the Debian metapackages point at.
# 6.1  -> linux-image-amd64's dependency (e.g. 6.1.0-56-amd64)
# 6.12 -> linux-image-6.12-amd64's dependency (e.g. 6.12.117+deb12-amd64)
kver_of_meta() {
    dpkg-query -W -f='${Depends}' "$1" 2>/dev/null | tr ',|' '\n\n' |
        sed -n 's/^ *linux-image-\([^ ]*\).*/\1/p' | head -n1
}

kver_for() {
    case "$1" in
        6.1) kver_of_meta linux-image-amd64 ;;
        6.12) kver_of_meta linux-image-6.12-amd64 ;;
        *) return 1 ;;
    esac
}
