#!/usr/bin/env python3
"""Adds an HTTP function to the bundle: its line in infra/routes.tsv (the route table the
function's access rule and the OpenAPI document come from), functions/<name>/ (Cargo.toml and
a one-line main), its template.yaml entry (function, route, log group, secrets and rate-limit table), its
`cargo lambda watch` route in Cargo.toml and a sample event in events/.

    infra/add-http-function.py NAME METHOD PATH ACCESS HANDLER "Description"

ACCESS is `probe`, `public` or `RESOURCE:ACTION` (action: read, write, delete, admin); HANDLER is a
path under rylie_app, e.g. routes::personas::list. Idempotent: what exists is left alone.
"""
import json, os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sentence(description):
    """'Creates a user' → 'creates a user'; 'CORS preflight' stays."""
    if len(description) > 1 and description[1].isupper():
        return description
    return description[:1].lower() + description[1:]


def router_path(path):
    """API Gateway's greedy {name+} is matchit's {*name} in cargo-lambda's router."""
    return re.sub(r"\{(\w+)\+\}", r"{*\1}", path)


def main(name, method, path, access, handler, description):
    os.chdir(ROOT)
    method = method.upper()
    if access not in ("probe", "public") and access.split(":")[-1] not in ("read", "write", "delete", "admin"):
        sys.exit("ACCESS is probe, public or RESOURCE:read|write|delete|admin")
    line = "\t".join([name, method, path, access, description]) + "\n"
    with open("infra/routes.tsv") as f:
        table = f.read()
    if f"{name}\t{method}\t{path}\t" not in table:
        with open("infra/routes.tsv", "a") as f:
            f.write(line)
    crate = f"functions/{name}"
    if not os.path.exists(crate):
        os.makedirs(f"{crate}/src")
        with open(f"{crate}/Cargo.toml", "w") as f:
            f.write(f'''[package]
name = "{name}"
version.workspace = true
edition.workspace = true
rust-version.workspace = true
license.workspace = true
publish.workspace = true

# A thin entry point whose behaviour is tested in rylie-app: no test harness to build and link.
[[bin]]
name = "{name}"
path = "src/main.rs"
test = false

[dependencies]
rylie-app.workspace = true
tokio.workspace = true

[features]
# Jobs run in-process when no queue is configured (local running); infra/deploy.sh builds with
# --no-default-features, and every job goes to its queue.
default = ["rylie-app/in-process-jobs"]

[lints]
workspace = true
''')
        with open(f"{crate}/src/main.rs", "w") as f:
            f.write(f"//! `{method} {path}`: {sentence(description)}.\n\n"
                    f"rylie_app::http_function!(rylie_app::{handler});\n")

    logical = "".join(part[:1].upper() + part[1:] for part in name.split("-"))
    with open("template.yaml") as f:
        template = f.read()
    if f"  {logical}Function:\n" not in template:
        entry = f'''  # {method} {path}: {sentence(description)}.
  {logical}Function:
    Type: AWS::Serverless::Function
    Properties:
      Description: "{method} {path}"
      CodeUri: target/lambda/{name}/
      LoggingConfig:
        LogGroup: !Ref {logical}LogGroup
      Environment:
        Variables:
          DATABASE_SECRET_ARN: !GetAtt DatabaseStack.Outputs.AppSecretArn
          JWT_KEYS_SECRET_ARN: !Ref JwtKeysSecret
          RATE_LIMIT_TABLE: !Ref RateLimitTable
      Policies:
        - AWSSecretsManagerGetSecretValuePolicy:
            SecretArn: !GetAtt DatabaseStack.Outputs.AppSecretArn
        - AWSSecretsManagerGetSecretValuePolicy:
            SecretArn: !Ref JwtKeysSecret
        - DynamoDBCrudPolicy:
            TableName: !Ref RateLimitTable
      Events:
        Route:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: {method}
            Path: {path}

  {logical}LogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub /rylie/${{Environment}}/{name}
      RetentionInDays: !FindInMap [EnvironmentConfig, !Ref Environment, LogRetentionDays]
      Tags:
        - Key: Project
          Value: rylie
        - Key: Environment
          Value: !Ref Environment

'''
        marker = "  # Applies infra/migrations (embedded in the binary)."
        template = template.replace(marker, entry + marker, 1)
        with open("template.yaml", "w") as f:
            f.write(template)

    with open("Cargo.toml") as f:
        cargo = f.read()
    route = f'{{ method = "{method}", function = "{name}" }}'
    if route not in cargo:
        lines = cargo.split("\n")
        key = f'"{router_path(path)}" = ['
        for i, line in enumerate(lines):
            if line.startswith(key):
                lines[i] = line[:-1] + f", {route}]"
                break
        else:
            at = lines.index("[workspace.metadata.lambda.watch.router]") + 1
            while lines[at].startswith('"'):
                at += 1
            lines.insert(at, f"{key}{route}]")
        with open("Cargo.toml", "w") as f:
            f.write("\n".join(lines))

    event_path = f"events/{name}.json"
    if not os.path.exists(event_path):
        with open("events/api-health-health.json") as f:
            event = json.load(f)
        params = {p.strip("{}"): "1" for p in path.split("/") if p.startswith("{")}
        sample = path
        for p in params:
            sample = sample.replace("{" + p + "}", "1")
        event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {path}"
        event["rawPath"] = event["requestContext"]["http"]["path"] = sample
        event["requestContext"]["http"]["method"] = method
        if params:
            event["pathParameters"] = params
        if access not in ("probe", "public"):
            event["headers"]["authorization"] = "Bearer <access token from POST /v1/auth/login>"
        with open(event_path, "w") as f:
            json.dump(event, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    main(*sys.argv[1:])
