import ArgumentParser
import Foundation

/// Bad input (config, model, image) exits with code 2 and one line per problem on stderr.
struct InputError: Error, CustomStringConvertible {
    var problems: [String]
    init(_ problems: [String]) { self.problems = problems }
    init(_ problem: String) { self.problems = [problem] }
    var description: String { problems.joined(separator: "\n") }
}

/// Prints each problem on its own line to stderr and exits with code 2.
func failWithInputError(_ problems: [String]) -> Never {
    for line in problems { FileHandle.standardError.write(Data(("inspectd: " + line + "\n").utf8)) }
    exit(2)
}

/// Runs `body`, turning thrown input errors into exit code 2 with their message.
func exitingOnInputError<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch let e as InputError { failWithInputError(e.problems) } catch {
        failWithInputError(["\(error)"])
    }
}
