// DeviceConfigTests.swift: `vif = [...]` and `disk = [...]` in a domain configuration: list syntax,
// xl's vif pairs and positional disk fields, Xen's virtual-device numbers, and each refusal.

import XCTest
@testable import GuestKit

private let minimal = "name = \"web\"\nkernel = \"domu.elf\"\nmemory = 64\n"

private func parse(_ extra: String) -> Result<DomainConfig, ConfigError> {
    do throws(ConfigError) { return .success(try DomainConfig(parsing: Array((minimal + extra + "\n").utf8))) }
    catch { return .failure(error) }
}

private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

final class DeviceConfigTests: XCTestCase {
    func testNoDevicesByDefault() throws {
        let c = try parse("").get()
        XCTAssertEqual(c.vifs, [])
        XCTAssertEqual(c.disks, [])
    }

    func testVifList() throws {
        let c = try parse("vif = [ 'mac=00:16:3E:0a:0b:0c,bridge=br1', \"\" ]   # two").get()
        XCTAssertEqual(c.vifs, [VifSpec(mac: [0, 0x16, 0x3E, 10, 11, 12], bridge: b("br1")), VifSpec()])
        XCTAssertEqual(try parse("vif=[]").get().vifs, [])
        XCTAssertEqual(try parse("vif = ['bridge=xenbr0',]").get().vifs, [VifSpec()])
    }

    func testDiskList() throws {
        let backed = try parse("disk = [ 'vdisk:0x100000-2097152,hda,w', 'initrd:root.img,xvda,r' ]").get()
        XCTAssertEqual(backed.disks.map(\.backing), [.virtioRange(start: 0x10_0000, end: 0x20_0000), .initrd(Array("root.img".utf8))])
        XCTAssertEqual(backed.disks.map(\.number), [768, 51712])
        XCTAssertEqual(backed.disks.map(\.writable), [true, false])
        XCTAssertEqual(backed.disks[0].format, Array("raw".utf8))
        let c = try parse("disk = [ 'disk.img,raw,hda,w', 'images/cd.iso,raw,xvdb,r' ]").get()
        XCTAssertEqual(c.disks.map(\.backing), [.none, .none])
        XCTAssertEqual(c.disks.map(\.number), [768, 51728])
        XCTAssertEqual(c.disks.map(\.writable), [true, false])
        XCTAssertEqual(c.disks[1].target, b("images/cd.iso"))
        XCTAssertEqual(DiskSpec.deviceNumber(b("hdb")), 832)
        XCTAssertEqual(DiskSpec.deviceNumber(b("sda")), 2048)
        XCTAssertEqual(DiskSpec.deviceNumber(b("xvda")), 51712)
        XCTAssertNil(DiskSpec.deviceNumber(b("hdc")))
        XCTAssertNil(DiskSpec.deviceNumber(b("xvd")))
    }

    func testRefusals() {
        XCTAssertEqual(parse("vif = [ 'mac=00:16:3e:0a:0b' ]"), .failure(ConfigError(line: 4, .invalid(.vif))))
        XCTAssertEqual(parse("vif = [ 'colour=red' ]"), .failure(ConfigError(line: 4, .invalid(.vif))))
        XCTAssertEqual(parse("vif = [ '', '', '', '', '' ]"), .failure(ConfigError(line: 4, .invalid(.vif))))
        XCTAssertEqual(parse("disk = [ 'a,raw,hda' ]"), .failure(ConfigError(line: 4, .invalid(.disk))))
        for bad in ["vdisk:0-100,hda,w", "vdisk:512-512,hda,w", "vdisk:1024-512,hda,w", "vdisk:0x-512,hda,w", "vdisk:0,hda,w",
                    "initrd:img,xvda,w", "initrd:,xvda,r", "initrd:a/b,xvda,r", "nbd:host,xvda,r"] {
            XCTAssertEqual(parse("disk = [ '\(bad)' ]"), .failure(ConfigError(line: 4, .invalid(.disk))), bad)
        }
        XCTAssertEqual(parse("disk = [ 'a,raw,hda,x' ]"), .failure(ConfigError(line: 4, .invalid(.disk))))
        XCTAssertEqual(parse("disk = [ 'a,raw,hda,w', 'b,raw,hda,r' ]"), .failure(ConfigError(line: 4, .invalid(.disk))))
        XCTAssertEqual(parse("disk = 'a,raw,hda,w'"), .failure(ConfigError(line: 4, .wrongType(.disk))))
        XCTAssertEqual(parse("disk = [ 'a,raw,hda,w'"), .failure(ConfigError(line: 4, .wrongType(.disk))))
        XCTAssertEqual(parse("disk = [ 'a' 'b' ]"), .failure(ConfigError(line: 4, .wrongType(.disk))))
        XCTAssertEqual(parse("disk = [ , ]"), .failure(ConfigError(line: 4, .wrongType(.disk))))
        XCTAssertEqual(parse("disk = [ 'a ]"), .failure(ConfigError(line: 4, .unterminatedQuote)))
        XCTAssertEqual(parse("disk = [] x"), .failure(ConfigError(line: 4, .garbageAfterValue)))
        XCTAssertEqual(parse("name2 = [ 'x' ]"), .failure(ConfigError(line: 4, .unknownKey)))
        XCTAssertEqual(parse("memory = [ '1' ]"), .failure(ConfigError(line: 4, .duplicateKey(.memory))))
        XCTAssertEqual(parse("extra = [ '1' ]"), .failure(ConfigError(line: 4, .wrongType(.extra))))
        XCTAssertEqual(parse("vif = []\nvif = []"), .failure(ConfigError(line: 5, .duplicateKey(.vif))))
    }
}
