# The bank stack on one Docker engine, with the kreuzwerker/docker provider:
# seven services, Pyroscope, Prometheus and Grafana on one network. The
# containers come from stack.tf.json, which `go run ./deploy/stackgen`
# generates from docker-compose.yml (and docker-compose.local.yml for
# stack_images = "local").
#
#   eval "$(deploy/terraform/build-tools.sh)"   # no registry: build tofu and the provider
#   cd deploy/terraform
#   cp terraform.tfvars.example terraform.tfvars
#   tofu init && tofu apply
#   tofu destroy

terraform {
  required_version = ">= 1.6"
  required_providers {
    docker = {
      source  = "kreuzwerker/docker"
      version = ">= 4.6.0"
    }
  }
}

variable "docker_host" {
  type        = string
  default     = "unix:///var/run/docker.sock"
  description = "The Docker engine to deploy to."
}

variable "stack_name" {
  type        = string
  default     = "profdiff"
  description = "Prefix of every container, volume and network, so two stacks can share an engine."
}

variable "stack_images" {
  type        = string
  default     = "default"
  description = "default: docker-compose.yml's images. local: the images `go run ./testenv/cmd/bankstack images` builds (docker-compose.local.yml), for an engine with no registry."
  validation {
    condition     = contains(["default", "local"], var.stack_images)
    error_message = "stack_images must be \"default\" or \"local\"."
  }
}

variable "repo_dir" {
  type        = string
  default     = null
  description = "The repository whose config/ the containers mount (default: the one this module is in)."
}

variable "include_optional" {
  type        = bool
  default     = false
  description = "With stack_images = \"local\": also run the containers that have no local substitute (Grafana); load their images first."
}

locals {
  repo_dir = var.repo_dir != null ? var.repo_dir : abspath("${path.module}/../..")
  selected = {
    default = local.stack_containers
    local   = local.stack_containers_local
  }[var.stack_images]
  run     = { for name, c in local.selected : name => c if !c.optional || var.include_optional }
  skipped = [for name, c in local.selected : name if c.optional && !var.include_optional]
}

provider "docker" {
  host = var.docker_host
}

resource "docker_network" "stack" {
  name = "${var.stack_name}-${local.stack_network}"
  labels {
    label = "profdiff.deploy.stack"
    value = var.stack_name
  }
}

resource "docker_volume" "stack" {
  for_each = toset(local.stack_volumes)
  name     = "${var.stack_name}-${each.key}"
  labels {
    label = "profdiff.deploy.stack"
    value = var.stack_name
  }
}

resource "docker_container" "stack" {
  for_each = local.run

  name     = "${var.stack_name}-${each.key}"
  image    = each.value.image
  command  = each.value.command
  env      = [for k, v in each.value.env : "${k}=${v}"]
  restart  = each.value.restart
  memory   = each.value.memory_mb > 0 ? each.value.memory_mb : null
  must_run = true
  # Apply returns once every container reports healthy.
  wait         = true
  wait_timeout = 180

  dynamic "ports" {
    for_each = each.value.ports
    content {
      ip       = ports.value.address
      external = tonumber(ports.value.host)
      internal = ports.value.container
    }
  }

  dynamic "volumes" {
    for_each = each.value.binds
    content {
      host_path      = "${local.repo_dir}/${volumes.value.source}"
      container_path = volumes.value.target
      read_only      = volumes.value.read_only
    }
  }

  dynamic "volumes" {
    for_each = each.value.volumes
    content {
      volume_name    = docker_volume.stack[volumes.value.name].name
      container_path = volumes.value.target
    }
  }

  healthcheck {
    test         = each.value.healthcheck.test
    interval     = each.value.healthcheck.interval
    timeout      = each.value.healthcheck.timeout
    retries      = each.value.healthcheck.retries
    start_period = each.value.healthcheck.start_period
  }

  networks_advanced {
    name    = docker_network.stack.name
    aliases = [each.key]
  }

  labels {
    label = "profdiff.deploy.stack"
    value = var.stack_name
  }
  labels {
    label = "profdiff.deploy.component"
    value = each.key
  }
}

output "containers" {
  description = "The containers started."
  value       = sort([for c in docker_container.stack : c.name])
}

output "skipped" {
  description = "Containers left out: no local substitute for their image."
  value       = [for name in local.skipped : "${name} skipped: its image ${local.selected[name].image} has no local substitute; set include_optional = true once it is loaded"]
}
