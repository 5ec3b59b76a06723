# A neighbour file: still checked.
resource "aws_lb_listener" "legacy" {
  load_balancer_arn = aws_lb.legacy.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-Custom-Legacy" # expect: tls-policy-unknown
  certificate_arn   = aws_acm_certificate.legacy.arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.legacy.arn
  }
}
