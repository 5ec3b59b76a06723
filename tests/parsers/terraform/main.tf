resource "aws_alb_listener" "legacy" {
  load_balancer_arn = aws_alb.legacy.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS-1-1-2017-01"
  certificate_arn   = var.certificate_arn
}

resource "aws_lb_listener" "default_policy" {
  load_balancer_arn = aws_lb.main.arn
  port              = 443
  protocol          = "TLS"
}

resource "aws_lb_listener" "computed" {
  port       = 443
  protocol   = "HTTPS"
  ssl_policy = var.ssl_policy
}

resource "azurerm_application_gateway" "gw" {
  name = "gw"

  http_listener {
    name     = "https"
    protocol = "Https"
  }

  ssl_policy {
    policy_type = "Predefined"
    policy_name = "AppGwSslPolicy20170401S"
  }
}

resource "kubernetes_deployment_v1" "web" {
  metadata {
    name      = "web"
    namespace = "shop"
    labels = {
      app = "web"
    }
  }

  spec {
    replicas = 3

    selector {
      match_labels = {
        app = "web"
      }
    }

    template {
      metadata {
        labels = {
          app = "web"
        }
      }

      spec {
        termination_grace_period_seconds = 20

        container {
          name    = "web"
          image   = "registry.example.com/web:1.2.0"
          command = ["sh", "-c", "node server.js"]

          port {
            container_port = 8080
          }

          lifecycle {
            pre_stop {
              exec {
                command = ["sleep", "15"]
              }
            }
          }

          readiness_probe {
            http_get {
              path = "/ready"
              port = 8080
            }
            period_seconds = 5
          }
        }
      }
    }
  }
}
