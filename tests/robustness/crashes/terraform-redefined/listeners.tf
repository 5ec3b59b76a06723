# An edit that left both the old argument and the new block: python-hcl2 raised RuntimeError.
resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.public.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = aws_acm_certificate.public.arn
  default_action    = "forward"

  default_action { # expect: parse-error
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}
