ocomms_runtime::service_main!(svc_messaging);
