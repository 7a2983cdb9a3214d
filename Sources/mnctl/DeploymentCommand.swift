import ArgumentParser

/// `mnctl deployment …`
struct DeploymentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deployment",
        abstract: "Inspect deployments: their versions, instances and events.",
        subcommands: [
            DeploymentDeployCommand.self, DeploymentListCommand.self, DeploymentStatusCommand.self, DeploymentRollbackCommand.self,
            DeploymentPromoteCommand.self, DeploymentPauseCommand.self, DeploymentResumeCommand.self, DeploymentFailCommand.self,
            DeploymentRerunCommand.self,
        ])
}
