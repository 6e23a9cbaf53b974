// What the fake Kubernetes API server's predictor pods (predictor-pods.ts, storage.ts, ingress.ts) do
// because KServe, Knative or the kubelet do it, each with its source (rendered into docs/emulator-rules.md).
import type { EmulatorRule } from '../shared/rules.js';

const KSERVE = 'https://github.com/kserve/kserve/blob/master';

export const KSERVE_RULES: readonly EmulatorRule[] = [
  {
    rule: 'A predictor with containers is a custom predictor: its model server is the container named kserve-container (a single unnamed container gets that name); a predictor with model (a ServingRuntime) is not run, it turns Ready after readyAfterReads reads and its status.url serves nothing',
    source: `${KSERVE}/pkg/apis/serving/v1beta1/predictor_custom.go (CustomPredictor.Default, GetContainer); https://kserve.github.io/website/latest/modelserving/v1beta1/custom/custom_model/; not running ServingRuntimes is the emulator's limit (it hides audit A6)`,
    status: 'verified',
  },
  {
    rule: 'The image reference is pulled from the cluster registry (the pods.images option); a reference it does not hold leaves the InferenceService Ready=False (ImagePullBackOff) with the message Back-off pulling image "<ref>", at once (the kubelet reports ErrImagePull first, then backs off)',
    source:
      'https://kubernetes.io/docs/concepts/containers/images/#imagepullbackoff; reporting it at once in the Ready condition is a guess',
    status: 'guess',
  },
  {
    rule: 'The storage URI is the STORAGE_URI variable of the kserve-container; the storage initializer downloads it into /mnt/models, shared with the kserve-container, before the container starts; STORAGE_URI stays in its environment',
    source: `${KSERVE}/pkg/apis/serving/v1beta1/predictor_custom.go (GetStorageUri); ${KSERVE}/pkg/webhook/admission/pod/storage_initializer_injector.go (CommonStorageInitialization, DefaultModelLocalMountPath); https://kserve.github.io/website/docs/model-serving/storage/storage-containers`,
    status: 'verified',
  },
  {
    rule: 's3://, gs://, http(s):// URIs: a single object lands as /mnt/models/<its file name>, a prefix gives its objects with their paths below the prefix; archives are not unpacked (the real initializer unpacks .tar.gz/.zip); nothing behind the URI fails the init step with Failed to fetch model. No model found in <uri>.',
    source:
      'kserve python storage (storage.py _download_s3, _download_gcs, _download_from_uri) as recalled; the message and the layout are to be checked against that file',
    status: 'guess',
  },
  {
    rule: 'pvc://<claim>/<path> is not copied: the claim is mounted at /mnt/models with <path> as its subPath, so a folder is /mnt/models and a file sub-path is mounted as /mnt/models itself; a missing sub-path is an empty folder',
    source: `${KSERVE}/pkg/webhook/admission/pod/storage_initializer_injector.go ("Pvc will be mount to /mnt/models rather than /mnt/pvc. PvcPath will be injected via SubPath, pvcPath must be a root or Dir"); the kubelet creating a missing subPath is a guess`,
    status: 'verified',
  },
  {
    rule: "The kserve-container runs with its command (replaces the image's Entrypoint) and args (replace its Cmd) and the env values of the spec (valueFrom is not resolved: such a variable is absent)",
    source:
      "https://kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container/#notes; valueFrom being dropped is the emulator's limit",
    status: 'verified',
  },
  {
    rule: "The container's port is ports[0].containerPort (8080 without ports); the emulator maps it to a free loopback port given as MODELPORT_PORT (the serving image's port variable; a MODELPORT_PORT in the spec naming another port gets another free port) and as PORT (Knative sets PORT to the container port)",
    source:
      "https://github.com/knative/specs/blob/main/specs/serving/runtime-contract.md (PORT); the loopback mapping stands in for the pod network and is the emulator's own",
    status: 'guess',
  },
  {
    rule: "Readiness: the container's readinessProbe (httpGet passes on 200-399, tcpSocket on a connection), else KServe's default for the model server container: a TCP check of ports[0].containerPort or 8080 (timeout 1 s); probes run every probeIntervalMs (100 ms; KServe's default period is 10 s); the InferenceService is Ready only once the pod of its current generation passed",
    source: `${KSERVE}/pkg/controller/v1beta1/inferenceservice/reconcilers/deployment/deployment_reconciler.go (setDefaultPodSpec); https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/`,
    status: 'verified',
  },
  {
    rule: 'A pod that does not pass its probe within progressDeadlineMs (120 s by default; the Deployment and Knative deadline is 600 s) leaves the InferenceService Ready=False (ProgressDeadlineExceeded) with the last log lines',
    source: `${KSERVE}/pkg/controller/v1beta1/inferenceservice/reconcilers/deployment/deployment_reconciler.go (setDefaultDeploymentSpec: progressDeadlineSeconds 600); the reason and message in the InferenceService's conditions are a guess`,
    status: 'guess',
  },
  {
    rule: 'A kserve-container that exits (at start or later) is not restarted: Ready=False (RevisionFailed) with Container failed with: <last log lines>; a failed storage initializer gives RevisionFailed with its message; both set modelStatus transitionStatus BlockedByFailedLoad, targetModelState FailedToLoad and lastFailureInfo {reason: ModelLoadFailed, exitCode}',
    source: `${KSERVE}/pkg/apis/serving/v1beta1/inference_service_status.go (PropagateModelStatus); the Knative condition text and not restarting (the kubelet restarts into CrashLoopBackOff) are guesses`,
    status: 'guess',
  },
  {
    rule: 'Every new generation (spec change) is a new revision with its own pod; older pods stop once it is ready, except the last ready one while canaryTrafficPercent splits traffic; a failing new revision leaves the old one serving; deleting the InferenceService or stopping the server stops its pods',
    source:
      'https://kserve.github.io/website/latest/modelserving/v1beta1/rollout/canary/; Kubernetes garbage collection of owned objects',
    status: 'verified',
  },
  {
    rule: "status.url is the InferenceService's route, the same across revisions: requests go to the latest ready revision, or canaryTrafficPercent of them to it and the rest to the previous one (deterministic weighted round robin); a request with no answer within predictor.timeout (300 s when unset) is answered 504",
    source:
      'https://kserve.github.io/website/latest/modelserving/v1beta1/rollout/canary/; https://knative.dev/docs/serving/configuration/config-defaults/ (revision-timeout-seconds 300); the 504 and the loopback URL (the real one is an external host, audit M10) are guesses',
    status: 'guess',
  },
];
