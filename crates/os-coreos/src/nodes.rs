//! What os-coreos ships to every node: scripts, units and drop-ins.

/// The containerd preparation script (`scripts/containerd-setup.sh`).
pub const CONTAINERD_SETUP_SCRIPT: &str = include_str!("../scripts/containerd-setup.sh");
/// Where it goes.
pub const CONTAINERD_SETUP_PATH: &str = "/opt/bin/containerd-setup.sh";
/// The oneshot unit running it before containerd.
pub const CONTAINERD_SETUP_UNIT: &str = "containerd-setup.service";
/// Its unit file.
pub const CONTAINERD_SETUP_SERVICE: &str = "[Unit]\nDescription=Setup containerd configuration\nBefore=containerd.service\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/opt/bin/containerd-setup.sh\n\n[Install]\nWantedBy=multi-user.target\n";
/// The containerd drop-in's name.
pub const CONTAINERD_DROPIN: &str = "11-exec_config.conf";
/// containerd started with Gardener's configuration file (no trailing newline, as upstream).
pub const CONTAINERD_EXEC_CONFIG: &str =
    "[Service]\nExecStart=\nExecStart=/usr/bin/containerd --config /etc/containerd/config.toml";
/// The kubelet cgroup-driver script (`scripts/kubelet_cgroup_driver.sh`).
pub const KUBELET_CGROUP_DRIVER_SCRIPT: &str = include_str!("../scripts/kubelet_cgroup_driver.sh");
/// Where it goes.
pub const KUBELET_CGROUP_DRIVER_PATH: &str = "/opt/bin/kubelet_cgroup_driver.sh";
/// The kubelet drop-in running it.
pub const KUBELET_DROPIN: &str = "10-configure-cgroup-driver.conf";
/// Its content.
pub const KUBELET_DROPIN_CONTENT: &str =
    "[Service]\nExecStartPre=/opt/bin/kubelet_cgroup_driver.sh\n";
/// The drop-in that turns Flatcar's updaters into no-ops on nodes provisioned before they were masked.
pub const NOOP_DROPIN: &str = "20-noop-execstart.conf";
/// Its content.
pub const NOOP_DROPIN_CONTENT: &str = "[Service]\nExecStart=\nExecStart=/bin/true\nRestart=no\n";
/// The sctp blacklist.
pub const SCTP_PATH: &str = "/etc/modprobe.d/sctp.conf";
/// Its content (no trailing newline, as upstream).
pub const SCTP_CONTENT: &str = "install sctp /bin/true";
/// ntpd's configuration file.
pub const NTP_CONF_PATH: &str = "/etc/ntp.conf";

/// Cloud-config: the unit running the containerd init script before containerd and the kubelet.
pub const RUN_COMMAND_UNIT: &str = "run-command.service";
/// Its unit file.
pub const RUN_COMMAND_SERVICE: &str = "[Unit]\nDescription=Prepare containerd before it starts\nBefore=containerd.service kubelet.service\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nEnvironmentFile=/etc/environment\nExecStart=/opt/bin/run-command.sh\n\n[Install]\nWantedBy=containerd.service kubelet.service\n";
/// Cloud-config: where the containerd init script goes.
pub const RUN_COMMAND_PATH: &str = "/opt/bin/run-command.sh";
/// Cloud-config: the unit switching the kubelet to the systemd cgroup driver on cgroup v2.
pub const CGROUPS_V2_UNIT: &str = "enable-cgroupsv2.service";
/// Its unit file.
pub const CGROUPS_V2_SERVICE: &str = "[Unit]\nDescription=Use the systemd cgroup driver on cgroup v2\nBefore=containerd.service kubelet.service\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nEnvironmentFile=/etc/environment\nExecStart=/opt/bin/configure-cgroupsv2.sh\n\n[Install]\nWantedBy=containerd.service kubelet.service\n";
/// Cloud-config: where the cgroup-driver script goes.
pub const CGROUPS_V2_PATH: &str = "/opt/bin/configure-cgroupsv2.sh";
/// Cloud-config: the containerd drop-in's path.
pub const CONTAINERD_DROPIN_PATH: &str =
    "/etc/systemd/system/containerd.service.d/11-exec_config.conf";

/// `/etc/ntp.conf` for ntpd with these servers and interfaces (upstream's template, to the byte).
pub fn ntp_conf(servers: &[String], interfaces: &[String]) -> String {
    let mut out = String::from("\n");
    for server in servers {
        out.push_str(&format!("server {server} iburst\n"));
    }
    out.push_str("\ndriftfile /var/lib/ntp/ntp.drift\nrestrict default nomodify nopeer noquery notrap limited kod\nrestrict 127.0.0.1\nrestrict [::1]\n\n");
    if !interfaces.is_empty() {
        out.push_str("interface ignore wildcard\ninterface listen 127.0.0.1\n");
        for interface in interfaces {
            out.push_str(&format!("interface listen {interface}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_conf_matches_upstreams_rendering() {
        assert_eq!(
            ntp_conf(&["0.pool.ntp.org".into()], &[]),
            "\nserver 0.pool.ntp.org iburst\n\ndriftfile /var/lib/ntp/ntp.drift\nrestrict default nomodify nopeer noquery notrap limited kod\nrestrict 127.0.0.1\nrestrict [::1]\n\n"
        );
        assert!(ntp_conf(&["a".into()], &["dev1".into(), "dev2".into()])
            .ends_with("\n\ninterface ignore wildcard\ninterface listen 127.0.0.1\ninterface listen dev1\ninterface listen dev2\n"));
    }

    /// Checklist item 17: the user data's first file starts `IyEvYmluL2Jhc2gK` in base64.
    #[test]
    fn scripts_are_bash() {
        assert!(CONTAINERD_SETUP_SCRIPT.starts_with("#!/bin/bash\n"));
        assert!(KUBELET_CGROUP_DRIVER_SCRIPT.starts_with("#!/bin/bash\n"));
    }
}
