{{/* vim: set filetype=mustache: */}}

{{- define "ocomms.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ocomms.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ocomms.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The six services, in port order. */}}
{{- define "ocomms.serviceNames" -}}
auth messaging presence files scheduler notify
{{- end -}}

{{- define "ocomms.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ocomms.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ocomms.labels" -}}
helm.sh/chart: {{ include "ocomms.chart" . }}
{{ include "ocomms.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ocomms
{{- end -}}

{{/* Labels of one part: (dict "root" $ "name" "auth") */}}
{{- define "ocomms.componentLabels" -}}
{{ include "ocomms.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "ocomms.componentSelectorLabels" -}}
{{ include "ocomms.selectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Kubernetes object name of a part: <fullname>-<part> */}}
{{- define "ocomms.componentName" -}}
{{- printf "%s-%s" (include "ocomms.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ocomms.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ocomms.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ocomms.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "ocomms.configMapName" -}}
{{- printf "%s-config" (include "ocomms.fullname" .) -}}
{{- end -}}

{{- define "ocomms.secretName" -}}
{{- default (printf "%s-secrets" (include "ocomms.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* Whether the chart creates the Secret itself. */}}
{{- define "ocomms.createSecret" -}}
{{- if not .Values.secrets.existingSecret -}}true{{- end -}}
{{- end -}}

{{/*
An env entry read from a Secret: (dict "root" $ "var" "DATABASE_URL" "optional" false).
secrets.refs.<VAR> wins, then secrets.existingSecret, then the chart's Secret.
*/}}
{{- define "ocomms.secretEnv" -}}
{{- $refs := .root.Values.secrets.refs | default dict -}}
{{- $ref := get $refs .var -}}
- name: {{ .var }}
  valueFrom:
    secretKeyRef:
      {{- if $ref }}
      name: {{ required (printf "secrets.refs.%s.name is required" .var) $ref.name }}
      key: {{ default .var $ref.key }}
      {{- else }}
      name: {{ include "ocomms.secretName" .root }}
      key: {{ .var }}
      {{- end }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* Total replicas a part may run (HPA maximum when autoscaling). */}}
{{- define "ocomms.maxReplicas" -}}
{{- if .autoscaling.enabled -}}{{ .autoscaling.maxReplicas }}{{- else -}}{{ .replicaCount }}{{- end -}}
{{- end -}}

{{/* Whether any part may run more than one replica. */}}
{{- define "ocomms.multiReplica" -}}
{{- $multi := gt (int (include "ocomms.maxReplicas" .Values.gateway)) 1 -}}
{{- range $name := splitList " " (include "ocomms.serviceNames" .) -}}
{{- if gt (int (include "ocomms.maxReplicas" (index $.Values.services $name))) 1 -}}{{- $multi = true -}}{{- end -}}
{{- end -}}
{{- if $multi -}}true{{- end -}}
{{- end -}}

{{/* Configuration checks that fail the render with a clear message. */}}
{{- define "ocomms.validate" -}}
{{- if and (include "ocomms.createSecret" .) (not .Values.secrets.databaseUrl) (not (hasKey (.Values.secrets.refs | default dict) "DATABASE_URL")) -}}
{{- fail "PostgreSQL is required: set secrets.existingSecret (a Secret with DATABASE_URL, SERVICE_TOKEN, TWO_FACTOR_KEY, ...) or secrets.databaseUrl (at install time: --set secrets.databaseUrl=postgres://...)" -}}
{{- end -}}
{{- if include "ocomms.multiReplica" . -}}
{{- if not .Values.redis.enabled -}}
{{- fail "more than one replica (or autoscaling) needs Redis: set redis.enabled=true and REDIS_URL in the Secret (fan-out, presence and rate limits are shared through it)" -}}
{{- end -}}
{{- if not .Values.amqp.enabled -}}
{{- fail "more than one replica (or autoscaling) needs RabbitMQ: set amqp.enabled=true and AMQP_URL in the Secret (durable jobs and the outbox relay go through it)" -}}
{{- end -}}
{{- end -}}
{{- $files := .Values.services.files -}}
{{- if and (not .Values.s3.bucket) (gt (int (include "ocomms.maxReplicas" $files)) 1) -}}
{{- if not (and .Values.uploads.persistence.enabled (has "ReadWriteMany" .Values.uploads.persistence.accessModes)) -}}
{{- fail "svc-files with more than one replica needs shared storage: set s3.bucket, or uploads.persistence.enabled with accessModes [ReadWriteMany]" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.s3.staticCredentials (not .Values.s3.bucket) -}}
{{- fail "s3.staticCredentials is set but s3.bucket is empty" -}}
{{- end -}}
{{- if and .Values.push.vapidPublicKey (not .Values.push.vapidEmail) -}}
{{- fail "push.vapidPublicKey needs push.vapidEmail (and VAPID_PRIVATE_KEY in the Secret)" -}}
{{- end -}}
{{- end -}}

{{/* Pod-level settings every OComms pod shares. */}}
{{- define "ocomms.podCommon" -}}
serviceAccountName: {{ include "ocomms.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
One part (the gateway or a service): Deployment, Service, HPA and PDB.
Called with (dict "root" $ "name" "auth" "values" .Values.services.auth).
*/}}
{{- define "ocomms.component" -}}
{{- $root := .root -}}
{{- $v := .values -}}
{{- $name := .name -}}
{{- $gateway := eq $name "gateway" -}}
{{- $upper := upper $name -}}
{{- $fullname := include "ocomms.componentName" . -}}
{{- $binary := ternary "ocomms-gateway" (printf "svc-%s" $name) $gateway -}}
{{- $localFiles := and (eq $name "files") (not $root.Values.s3.bucket) -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "ocomms.componentLabels" . | nindent 4 }}
spec:
  {{- if not $v.autoscaling.enabled }}
  replicas: {{ $v.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "ocomms.componentSelectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "ocomms.componentLabels" . | nindent 8 }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        {{- if include "ocomms.createSecret" $root }}
        checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
        {{- end }}
        {{- if and $gateway $root.Values.observability.prometheusAnnotations }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $v.port | quote }}
        prometheus.io/path: /metrics
        {{- else if and $root.Values.observability.prometheusAnnotations $root.Values.observability.metricsPort }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $root.Values.observability.metricsPort | quote }}
        prometheus.io/path: /metrics
        {{- end }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- include "ocomms.podCommon" $root | nindent 6 }}
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      {{- if and $root.Values.topologySpread.enabled (gt (int (include "ocomms.maxReplicas" $v)) 1) }}
      topologySpreadConstraints:
        - maxSkew: {{ $root.Values.topologySpread.maxSkew }}
          topologyKey: {{ $root.Values.topologySpread.topologyKey }}
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "ocomms.componentSelectorLabels" . | nindent 14 }}
      {{- end }}
      containers:
        - name: {{ $name }}
          image: {{ include "ocomms.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command:
            - /usr/local/bin/{{ $binary }}
          ports:
            - name: {{ ternary "http" "grpc" $gateway }}
              containerPort: {{ $v.port }}
              protocol: TCP
            {{- if and (not $gateway) $root.Values.observability.metricsPort }}
            - name: metrics
              containerPort: {{ $root.Values.observability.metricsPort }}
              protocol: TCP
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ include "ocomms.configMapName" $root }}
          env:
            {{- if not $gateway }}
            # In-flight calls' time after the drain: what the grace period
            # leaves after the preStop sleep and up to 10 s of drain.
            - name: SHUTDOWN_GRACE_SECS
              value: {{ sub (sub (int $v.terminationGracePeriodSeconds) (int $v.preStopSleepSeconds)) 10 | quote }}
            {{- end }}
            {{- if $root.Values.observability.otlpEndpoint }}
            - name: OTEL_SERVICE_NAME
              value: {{ printf "ocomms-%s" $name | quote }}
            {{- end }}
            {{- if $gateway }}
            {{- include "ocomms.secretEnv" (dict "root" $root "var" "SERVICE_TOKEN") | nindent 12 }}
            {{- else }}
            {{- include "ocomms.secretEnv" (dict "root" $root "var" "DATABASE_URL") | nindent 12 }}
            {{- if $root.Values.database.perServiceUrls }}
            {{- include "ocomms.secretEnv" (dict "root" $root "var" (printf "%s_DATABASE_URL" $upper) "optional" true) | nindent 12 }}
            {{- end }}
            {{- include "ocomms.secretEnv" (dict "root" $root "var" "SERVICE_TOKEN") | nindent 12 }}
            {{- if $root.Values.amqp.enabled }}
            {{- include "ocomms.secretEnv" (dict "root" $root "var" "AMQP_URL") | nindent 12 }}
            {{- end }}
            {{- end }}
            {{- if $root.Values.redis.enabled }}
            {{- include "ocomms.secretEnv" (dict "root" $root "var" "REDIS_URL") | nindent 12 }}
            {{- end }}
            {{- if eq $name "auth" }}
            {{- include "ocomms.secretEnv" (dict "root" $root "var" "TWO_FACTOR_KEY") | nindent 12 }}
            {{- end }}
            {{- if and (eq $name "files") $root.Values.s3.bucket $root.Values.s3.staticCredentials }}
            {{- include "ocomms.secretEnv" (dict "root" $root "var" "S3_ACCESS_KEY_ID") | nindent 12 }}
            {{- include "ocomms.secretEnv" (dict "root" $root "var" "S3_SECRET_ACCESS_KEY") | nindent 12 }}
            {{- end }}
            {{- if and (eq $name "notify") $root.Values.smtp.host $root.Values.smtp.user }}
            {{- include "ocomms.secretEnv" (dict "root" $root "var" "SMTP_PASS") | nindent 12 }}
            {{- end }}
            {{- if and (eq $name "notify") $root.Values.push.vapidPublicKey }}
            {{- include "ocomms.secretEnv" (dict "root" $root "var" "VAPID_PRIVATE_KEY") | nindent 12 }}
            {{- end }}
            {{- range $k, $val := $v.extraEnv }}
            - name: {{ $k }}
              value: {{ $val | toString | quote }}
            {{- end }}
          {{- if $gateway }}
          startupProbe:
            httpGet:
              path: /api/health
              port: http
            periodSeconds: {{ $root.Values.probes.startup.periodSeconds }}
            failureThreshold: {{ $root.Values.probes.startup.failureThreshold }}
            timeoutSeconds: {{ $root.Values.probes.startup.timeoutSeconds }}
          readinessProbe:
            httpGet:
              path: {{ $v.readinessPath }}
              port: http
            periodSeconds: {{ $root.Values.probes.readiness.periodSeconds }}
            failureThreshold: {{ $root.Values.probes.readiness.failureThreshold }}
            timeoutSeconds: {{ $root.Values.probes.readiness.timeoutSeconds }}
          # Liveness asks only whether the gateway itself answers: a service
          # being down must not restart every gateway.
          livenessProbe:
            httpGet:
              path: /metrics
              port: http
            periodSeconds: {{ $root.Values.probes.liveness.periodSeconds }}
            failureThreshold: {{ $root.Values.probes.liveness.failureThreshold }}
            timeoutSeconds: {{ $root.Values.probes.liveness.timeoutSeconds }}
          {{- else }}
          startupProbe:
            grpc:
              port: {{ $v.port }}
            periodSeconds: {{ $root.Values.probes.startup.periodSeconds }}
            failureThreshold: {{ $root.Values.probes.startup.failureThreshold }}
            timeoutSeconds: {{ $root.Values.probes.startup.timeoutSeconds }}
          readinessProbe:
            grpc:
              port: {{ $v.port }}
            periodSeconds: {{ $root.Values.probes.readiness.periodSeconds }}
            failureThreshold: {{ $root.Values.probes.readiness.failureThreshold }}
            timeoutSeconds: {{ $root.Values.probes.readiness.timeoutSeconds }}
          livenessProbe:
            grpc:
              port: {{ $v.port }}
            periodSeconds: {{ $root.Values.probes.liveness.periodSeconds }}
            failureThreshold: {{ $root.Values.probes.liveness.failureThreshold }}
            timeoutSeconds: {{ $root.Values.probes.liveness.timeoutSeconds }}
          {{- end }}
          lifecycle:
            preStop:
              sleep:
                seconds: {{ $v.preStopSleepSeconds }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if $localFiles }}
            - name: uploads
              mountPath: {{ $root.Values.uploads.path }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 256Mi
        {{- if $localFiles }}
        - name: uploads
          {{- if $root.Values.uploads.persistence.enabled }}
          persistentVolumeClaim:
            claimName: {{ default (printf "%s-uploads" (include "ocomms.fullname" $root)) $root.Values.uploads.persistence.existingClaim }}
          {{- else }}
          emptyDir: {}
          {{- end }}
        {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "ocomms.componentLabels" . | nindent 4 }}
spec:
  {{- if $gateway }}
  type: {{ $v.service.type }}
  ports:
    - name: http
      port: {{ $v.service.port }}
      targetPort: http
      protocol: TCP
      appProtocol: http
  {{- else }}
  # Headless: DNS answers every ready pod, and callers balance gRPC calls
  # over them (one HTTP/2 connection to a ClusterIP would pin one pod).
  type: ClusterIP
  clusterIP: None
  ports:
    - name: grpc
      port: {{ $v.port }}
      targetPort: grpc
      protocol: TCP
      appProtocol: kubernetes.io/h2c
  {{- end }}
  selector:
    {{- include "ocomms.componentSelectorLabels" . | nindent 4 }}
{{- if $v.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "ocomms.componentLabels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $fullname }}
  minReplicas: {{ $v.autoscaling.minReplicas }}
  maxReplicas: {{ $v.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $v.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- if $v.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "ocomms.componentLabels" . | nindent 4 }}
spec:
  maxUnavailable: {{ $v.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "ocomms.componentSelectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}
