resource "aws_lb_listener" "broken" {
  port = 443
  protocol = 
}
