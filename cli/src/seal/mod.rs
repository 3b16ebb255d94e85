//! `hush seal` beyond offline sealing: the cluster connection and the sealing
//! controller behind the API server's service proxy ([`cluster`], needs the `k8s`
//! feature), `hush seal keys list|prune` ([`keys_cmd`]), and the sealing-key
//! lookup behind `hush rotation status` ([`key_info`]).

#[cfg(feature = "k8s")]
pub mod cluster;
pub mod key_info;
#[cfg(feature = "k8s")]
pub mod keys_cmd;

use std::path::PathBuf;

use anyhow::Result;

/// Where the cluster and the controller are: kubeseal's flags and defaults.
#[derive(clap::Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Path to a kubeconfig file [default: $KUBECONFIG, else ~/.kube/config]
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use [default: its current context]
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,

    /// Namespace of the sealing controller
    #[arg(
        long = "controller-namespace",
        env = "SEALED_SECRETS_CONTROLLER_NAMESPACE",
        default_value = "kube-system",
        global = true
    )]
    pub controller_namespace: String,

    /// Service name of the sealing controller
    #[arg(
        long = "controller-name",
        env = "SEALED_SECRETS_CONTROLLER_NAME",
        default_value = "sealed-secrets-controller",
        global = true
    )]
    pub controller_name: String,
}

impl ClusterArgs {
    /// `namespace/name` of the controller, for messages.
    pub fn controller(&self) -> String {
        format!("{}/{}", self.controller_namespace, self.controller_name)
    }
}

/// An error answer from the API server or, through the proxy, the controller.
#[derive(Debug)]
pub struct HttpFailure {
    /// HTTP status (0 when no answer came back).
    pub code: u16,
    pub message: String,
}

/// One request to the sealing controller: method, path (`/v1/...`), body.
// Without the `k8s` feature there is no client to send one with.
#[cfg_attr(not(feature = "k8s"), allow(dead_code))]
pub struct ControllerRequest {
    pub post: bool,
    pub path: String,
    pub body: String,
}

/// Send `requests` to the controller through the service proxy, in order; the
/// outer error is a connection problem (kubeconfig, Service not found).
#[cfg(feature = "k8s")]
pub fn call_controller(
    args: &ClusterArgs,
    requests: Vec<ControllerRequest>,
) -> Result<Vec<Result<String, HttpFailure>>> {
    cluster::block_on(async {
        let proxy = cluster::controller(args).await?;
        let mut answers = Vec::with_capacity(requests.len());
        for request in requests {
            answers.push(if request.post {
                proxy.post(&request.path, &request.body).await
            } else {
                proxy.get(&request.path).await
            });
        }
        Ok(answers)
    })
}

#[cfg(not(feature = "k8s"))]
pub fn call_controller(
    args: &ClusterArgs,
    _requests: Vec<ControllerRequest>,
) -> Result<Vec<Result<String, HttpFailure>>> {
    anyhow::bail!(
        "reaching the controller {} needs hush built with the `k8s` feature",
        args.controller()
    )
}
