{{/* Resource names: <release>-<agent>, <release>-vllm-<tier>, <release>-pair-<caller>-<callee>. */}}
{{- define "a2a.name" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "a2a.labels" -}}
app.kubernetes.io/name: a2a-bridge
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The pods of one agent (front door or replica, and its queue workers), for NetworkPolicy peers. */}}
{{- define "a2a.agentSelector" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
a2a-bridge/agent: {{ .name }}
{{- end -}}

{{/* The callers of an agent: the agents whose calls name it, and outside callers of a public one. */}}
{{- define "a2a.callers" -}}
{{- $callers := list -}}
{{- range $name, $agent := .root.Values.agents -}}
{{- if has $.name ($agent.calls | default list) -}}
{{- $callers = append $callers $name -}}
{{- end -}}
{{- end -}}
{{- if .agent.public -}}
{{- $callers = concat $callers (.agent.externalCallers | default .root.Values.agentDefaults.externalCallers) -}}
{{- end -}}
{{- toJson $callers -}}
{{- end -}}

{{/* Non-root, read-only, no privileges: every container the chart runs except vLLM's. */}}
{{- define "a2a.containerSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities: {drop: [ALL]}
  seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{/* Node placement by capacity: spot pods prefer spot nodes and tolerate their taints; on-demand pods avoid them. */}}
{{- define "a2a.placement" -}}
{{- $capacity := index .root.Values.capacity (ternary "spot" "onDemand" (eq .capacity "spot")) -}}
{{- $tolerations := concat ($capacity.tolerations | default list) (.extraTolerations | default list) -}}
{{- $selector := merge (dict) (.nodeSelector | default dict) ($capacity.nodeSelector | default dict) -}}
{{- with $selector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $tolerations }}
tolerations:
  {{- toYaml $tolerations | nindent 2 }}
{{- end }}
{{- $spotLabels := .root.Values.capacity.spotLabels | default list }}
{{- if $spotLabels }}
affinity:
  nodeAffinity:
    {{- if eq .capacity "spot" }}
    preferredDuringSchedulingIgnoredDuringExecution:
      {{- range $spotLabels }}
      - weight: 50
        preference:
          matchExpressions:
            - {key: {{ .key | quote }}, operator: In, values: [{{ .value | quote }}]}
      {{- end }}
    {{- else }}
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions:
            {{- range $spotLabels }}
            - {key: {{ .key | quote }}, operator: NotIn, values: [{{ .value | quote }}]}
            {{- end }}
    {{- end }}
{{- end }}
{{- end -}}

{{/* The backend an agent's code reads (a2a_bridge.deploy.pod): its role's model server. */}}
{{- define "a2a.backendEnv" -}}
{{- $role := index .root.Values.roles .agent.role -}}
{{- if not $role }}{{ fail (printf "agents.%s.role: no role %q in roles" .name .agent.role) }}{{ end -}}
- name: A2A_BRIDGE_AGENT
  value: {{ .name | quote }}
- name: A2A_BRIDGE_ROLE
  value: {{ .agent.role | quote }}
{{- if $role.tier }}
{{- if not (index .root.Values.tiers $role.tier) }}{{ fail (printf "roles.%s.tier: no tier %q in tiers" .agent.role $role.tier) }}{{ end }}
- name: A2A_BRIDGE_BACKEND_URL
  value: {{ printf "http://%s:%v/v1" (include "a2a.name" (dict "root" .root "name" (printf "vllm-%s" $role.tier))) .root.Values.vllm.port | quote }}
- name: A2A_BRIDGE_BACKEND_TIER
  value: {{ $role.tier | quote }}
{{- else }}
- name: A2A_BRIDGE_BACKEND_URL
  value: {{ required (printf "roles.%s: give a tier or a baseUrl" .agent.role) $role.baseUrl | quote }}
{{- end }}
- name: A2A_BRIDGE_BACKEND_MODEL
  value: {{ required (printf "roles.%s.model is required" .agent.role) $role.model | quote }}
{{- if $role.apiKeySecret }}
- name: A2A_BRIDGE_BACKEND_API_KEY_FILE
  value: /var/run/a2a-bridge/backend/api-key
{{- end }}
{{- if .agent.calls }}
- name: A2A_BRIDGE_PEERS
  value: {{ include "a2a.peers" . | quote }}
- name: A2A_BRIDGE_PEER_SECRETS
  value: /var/run/a2a-bridge/peers
{{- end }}
- name: HOME
  value: /tmp
{{- range $key, $value := .agent.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{- define "a2a.peers" -}}
{{- $peers := list -}}
{{- range .agent.calls -}}
{{- if not (index $.root.Values.agents .) }}{{ fail (printf "agents.%s.calls: no agent %q" $.name .) }}{{ end -}}
{{- $peers = append $peers (printf "%s=http://%s:%v" . (include "a2a.name" (dict "root" $.root "name" .)) $.root.Values.agentDefaults.port) -}}
{{- end -}}
{{- join "," $peers -}}
{{- end -}}

{{/* Secrets and writable scratch space, as files: a secret never appears in a manifest or an argument. */}}
{{- define "a2a.volumes" -}}
{{- $callers := include "a2a.callers" . | fromJsonArray -}}
- name: tmp
  emptyDir: {}
{{- if and $callers (not .worker) }}
- name: callers
  projected:
    sources:
      {{- range $callers }}
      - secret:
          name: {{ include "a2a.name" (dict "root" $.root "name" (printf "pair-%s-%s" . $.name)) }}
          items: [{key: secret, path: {{ . }}/secret}]
      {{- end }}
{{- end }}
{{- if .agent.calls }}
- name: peers
  projected:
    sources:
      {{- range .agent.calls }}
      - secret:
          name: {{ include "a2a.name" (dict "root" $.root "name" (printf "pair-%s-%s" $.name .)) }}
          items: [{key: secret, path: {{ . }}/secret}]
      {{- end }}
{{- end }}
{{- if include "a2a.needsStore" .agent }}
- name: postgres
  secret:
    secretName: {{ required "postgres.urlSecret.name: agents with replicas > 1, queue or checkpointer need a Postgres URL Secret" .root.Values.postgres.urlSecret.name }}
    items: [{key: {{ .root.Values.postgres.urlSecret.key }}, path: url}]
{{- end }}
{{- if include "a2a.needsRedis" .agent }}
- name: redis
  secret:
    secretName: {{ required "redis.urlSecret.name: agents with replicas > 1 or queue need a Redis URL Secret" .root.Values.redis.urlSecret.name }}
    items: [{key: {{ .root.Values.redis.urlSecret.key }}, path: url}]
{{- end }}
{{- with (index .root.Values.roles .agent.role).apiKeySecret }}
- name: backend
  secret:
    secretName: {{ . }}
    items: [{key: api-key, path: api-key}]
{{- end }}
{{- end -}}

{{- define "a2a.volumeMounts" -}}
{{- $callers := include "a2a.callers" . | fromJsonArray -}}
- {name: tmp, mountPath: /tmp}
{{- if and $callers (not .worker) }}
- {name: callers, mountPath: /var/run/a2a-bridge/callers, readOnly: true}
{{- end }}
{{- if .agent.calls }}
- {name: peers, mountPath: /var/run/a2a-bridge/peers, readOnly: true}
{{- end }}
{{- if include "a2a.needsStore" .agent }}
- {name: postgres, mountPath: /var/run/a2a-bridge/postgres, readOnly: true}
{{- end }}
{{- if include "a2a.needsRedis" .agent }}
- {name: redis, mountPath: /var/run/a2a-bridge/redis, readOnly: true}
{{- end }}
{{- if (index .root.Values.roles .agent.role).apiKeySecret }}
- {name: backend, mountPath: /var/run/a2a-bridge/backend, readOnly: true}
{{- end }}
{{- end -}}

{{- define "a2a.needsStore" -}}
{{- if or .queue .checkpointer (gt (int (.replicas | default 1)) 1) }}true{{ end -}}
{{- end -}}

{{- define "a2a.needsRedis" -}}
{{- if or .queue (gt (int (.replicas | default 1)) 1) }}true{{ end -}}
{{- end -}}

{{/* Helper processes in an agent's pod (the demo's MCP server): the agent's image, locked down alike. */}}
{{- define "a2a.sidecars" -}}
{{- range $sidecar, $command := .agent.sidecars }}
- name: {{ $sidecar }}
  image: {{ printf "%s:%s" $.root.Values.image.repository $.root.Values.image.tag | quote }}
  imagePullPolicy: {{ $.root.Values.image.pullPolicy }}
  command: {{ toJson $command }}
  env:
    - {name: HOME, value: /tmp}
  resources:
    {{- toYaml $.root.Values.agentDefaults.resources | nindent 4 }}
  {{- include "a2a.containerSecurity" $.root | nindent 2 }}
  volumeMounts:
    - {name: tmp, mountPath: /tmp}
{{- end }}
{{- end -}}

{{- define "a2a.anyQueue" -}}
{{- range .Values.agents }}{{ if .queue }}true{{ end }}{{ end -}}
{{- end -}}

{{/* Start-up, liveness and readiness on GET /healthz of the named port: an agent's or a worker's. */}}
{{- define "a2a.healthProbes" -}}
startupProbe:
  httpGet: {path: /healthz, port: {{ . }}}
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
  httpGet: {path: /healthz, port: {{ . }}}
  periodSeconds: 10
  timeoutSeconds: 3
readinessProbe:
  httpGet: {path: /healthz, port: {{ . }}}
  periodSeconds: 5
  timeoutSeconds: 3
{{- end -}}
