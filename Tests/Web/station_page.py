"""Drives the station page in headless Chromium (selenium + Debian's chromium-driver) against a running daemon.
Usage: station_page.py BASE_URL TOKEN CAMERA IMAGE VIEWER_TOKEN TRIGGERED_CAMERA ADAPTIVE_CLASS
Checks what a person would: the page asks for the token with a clear login prompt, then shows the station and a
tile per camera with a live image that changes, frame counts that grow, new NG inspections in the live feed as
they are recorded, the trends charts drawn, the camera view with its thresholds, the raw frame
downloaded, no controls for a synthetic camera, the adaptive class's threshold chart, and an image inspected on request with its boxes drawn;
with a viewer token the page offers no image upload. Prints the first-view time and how long after capture a new
NG inspection showed in the live feed (no timed assertion: the machine is shared).
Exit 0 when every check passed; otherwise the first failed check on stderr."""
import re
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

base, token, camera, image, viewer, triggered, adaptive = sys.argv[1:8]
options = Options()
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"):
    options.add_argument(arg)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(60)


def wait(what, predicate, timeout=60):
    def attempt(_):
        try:
            return predicate()
        except Exception:  # the page re-rendered under us (stale element): look again
            return False
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(attempt)
    except Exception:
        errors = driver.find_element(By.ID, "error").text
        sys.exit(f"FAILED: {what} (page error: {errors!r})")


def loaded_image(element):
    return driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0 ? arguments[0].src : null", element)


try:
    started = time.monotonic()
    driver.get(base + "/")
    # Without a token the API answers 401 and the page asks for one.
    wait("the token form shows after a 401", lambda: driver.find_element(By.ID, "token-form").is_displayed())
    prompt = driver.find_element(By.ID, "login-prompt").text
    if "needs a token" not in prompt:
        sys.exit(f"FAILED: no clear login prompt after a 401: {prompt!r}")
    driver.find_element(By.ID, "token-input").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#token-form button").click()
    tile = f'#cameras .tile[data-camera="{camera}"]'
    wait("a tile for the camera", lambda: driver.find_elements(By.CSS_SELECTOR, tile))
    wait("the station panel names the model", lambda: "model" in driver.find_element(By.ID, "station").text)
    print(f"first view (token entered, station and camera tile shown): {1000 * (time.monotonic() - started):.0f} ms")
    health = driver.find_element(By.ID, "health").text
    if health not in ("ok", "failing"):
        sys.exit(f"FAILED: health badge shows {health!r}")

    # The live feed: a new NG inspection shows as it is recorded (the stream starts at the newest record, so
    # any item is new). Its delay after capture is printed, not asserted.
    item = "#live-feed li[data-id]"
    wait("the live feed shows a new NG inspection", lambda: driver.find_elements(By.CSS_SELECTOR, item), timeout=120)
    first_item = driver.find_element(By.CSS_SELECTOR, item)
    delay = driver.execute_script("""
        const li = arguments[0];
        return [li.dataset.id, li.textContent, Number(li.dataset.received)];""", first_item)
    inspection = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(`/api/v1/inspections/${arguments[0]}`, {headers: {Authorization: `Bearer ${arguments[1]}`}})
          .then((r) => r.json()).then(done, (e) => done(String(e)));""", delay[0], token)
    if not isinstance(inspection, dict) or inspection.get("verdict") not in ("NG", "ERROR"):
        sys.exit(f"FAILED: the live feed item {delay[1]!r} is not an NG inspection on record: {inspection!r}")
    captured = driver.execute_script("return Date.parse(arguments[0])", inspection["captured_at"])
    print(f"live feed: inspection {delay[0]} ({delay[1]}) shown {delay[2] - captured} ms after capture")

    figures = lambda: driver.find_element(By.CSS_SELECTOR, tile + " .figures").text
    frames = lambda: int(figures().split(" frames")[0]) if " frames" in figures() else -1
    first = frames()
    wait("the tile's frame count grows", lambda: frames() > max(first, 0))
    img = driver.find_element(By.CSS_SELECTOR, tile + " img")
    shown = wait("the tile shows a live image", lambda: loaded_image(img))
    wait("the tile's image is refreshed", lambda: loaded_image(img) not in (None, shown))
    print(f"tile: {figures()}")

    driver.find_element(By.CSS_SELECTOR, tile).click()
    wait("the camera view lists its thresholds", lambda: driver.find_elements(By.CSS_SELECTOR, "#camera-details tbody tr"))
    wait("the camera view shows the frame", lambda: loaded_image(driver.find_element(By.ID, "camera-frame")))
    if driver.find_element(By.ID, "trigger-form").is_displayed():
        sys.exit("FAILED: a free-running camera offers a trigger")
    # The negotiated format and size, and no camera controls for a synthetic source (an empty list, not an error).
    wait("the camera view shows what the source delivers", lambda: "×" in driver.find_element(By.ID, "camera-details").text)
    wait("a synthetic camera lists no controls", lambda: driver.find_element(By.ID, "camera-controls").get_attribute("data-count") == "0")
    if "none" not in driver.find_element(By.ID, "camera-controls").text:
        sys.exit(f"FAILED: the controls panel does not say there are none: {driver.find_element(By.ID, 'camera-controls').text!r}")
    # The raw frame: downloaded under the name the station gives it, a JPEG.
    driver.find_element(By.ID, "download-frame").click()
    result = lambda: driver.find_element(By.ID, "download-result")
    wait("the raw frame is downloaded", lambda: result().get_attribute("data-file"))
    name, kind = result().get_attribute("data-file"), result().get_attribute("data-type")
    if not re.fullmatch(re.escape(camera) + r"-\d{8}T\d{6}\.\d{3}Z-\d+\.jpg", name) or kind != "image/jpeg":
        sys.exit(f"FAILED: the raw frame download is {name!r} ({kind!r}), not CAMERA-TIME-SEQUENCE.jpg image/jpeg")
    magic = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(`/api/v1/cameras/${arguments[0]}/frame.jpg`, {headers: {Authorization: `Bearer ${arguments[1]}`}})
          .then((r) => r.arrayBuffer()).then((b) => done(Array.from(new Uint8Array(b.slice(0, 3)))), (e) => done(String(e)));""",
        camera, token)
    if magic != [0xFF, 0xD8, 0xFF]:
        sys.exit(f"FAILED: the raw frame is not a JPEG: starts with {magic!r}")
    print(f"raw frame: {result().text}")
    # The adaptive class's threshold chart: drawn, with changes recorded in the last hour.
    chart = f'#threshold-chart-list canvas[data-class="{adaptive}"]'
    wait("the adaptive threshold chart shows recorded changes",
         lambda: int(driver.find_element(By.CSS_SELECTOR, chart).get_attribute("data-changes")) > 0, timeout=120)
    drawn = driver.execute_script("""const c = document.querySelector(arguments[0]);
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let k = 3; k < d.length; k += 4) if (d[k] > 0) n++;
        return n;""", chart)
    if drawn < 300:
        sys.exit(f"FAILED: the threshold chart of {adaptive} is (nearly) empty: {drawn} pixels")
    print(f"threshold chart: {adaptive}, {driver.find_element(By.CSS_SELECTOR, chart).get_attribute('data-changes')} minutes with changes")

    # A camera in trigger.mode software: the operator inspects the part under it by its id.
    driver.get(base + "/#camera/" + triggered)
    form = driver.find_element(By.ID, "trigger-form")
    wait("the triggered camera offers 'Inspect this part'", lambda: form.is_displayed())
    driver.find_element(By.ID, "trigger-part").send_keys("PAGE-0001")
    driver.find_element(By.CSS_SELECTOR, "#trigger-form button").click()
    wait("the part's verdict", lambda: "PAGE-0001" in driver.find_element(By.ID, "trigger-result").text)
    print(f"trigger: {driver.find_element(By.ID, 'trigger-result').text}")

    # Inspections: the table fills, a filter applies, a row opens the inspection with its annotated snapshot.
    driver.get(base + "/#inspections")
    rows = "#inspection-table tbody tr"
    wait("the inspections table fills", lambda: driver.find_elements(By.CSS_SELECTOR, rows))
    Select(driver.find_element(By.CSS_SELECTOR, "#inspection-filter select[name=verdict]")).select_by_visible_text("NG")
    driver.find_element(By.CSS_SELECTOR, "#inspection-filter button[type=submit]").click()
    wait("only NG rows after filtering", lambda: (lambda r: r and all(x.find_elements(By.CSS_SELECTOR, "td")[3].text == "NG" for x in r))(
        driver.find_elements(By.CSS_SELECTOR, rows)))
    driver.find_elements(By.CSS_SELECTOR, rows)[0].click()
    wait("the inspection opens", lambda: driver.find_element(By.CSS_SELECTOR, "#inspection-detail h3").text.startswith("Inspection"))
    wait("its defects are listed", lambda: driver.find_elements(By.CSS_SELECTOR, "#inspection-detail tbody tr"))
    wait("its snapshot is shown", lambda: loaded_image(driver.find_element(By.CSS_SELECTOR, "#inspection-detail img")))
    print(f"inspection: {driver.find_element(By.CSS_SELECTOR, '#inspection-detail h3').text}")

    # Trends: the three charts are drawn (pixels on each canvas) for the buckets the API answered.
    driver.get(base + "/#trends")
    painted = """const c = document.getElementById(arguments[0]);
        if (!c.dataset.buckets || c.width === 0) return 0;
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let k = 3; k < d.length; k += 4) if (d[k] > 0) n++;
        return n;"""
    for chart in ("chart-volume", "chart-rate", "chart-classes"):
        wait(f"the trends view draws {chart}", lambda: driver.execute_script(painted, chart) > 500)
    buckets = driver.execute_script("return document.getElementById('chart-volume').dataset.buckets")
    if buckets != "12":
        sys.exit(f"FAILED: the 1h trends chart has {buckets} buckets, not 12")
    print(f"trends: {driver.find_element(By.ID, 'trends-range').text}; legend {driver.find_element(By.ID, 'chart-legend').text!r}")

    driver.get(base + "/#detect")
    driver.find_element(By.ID, "detect-file").send_keys(image)
    driver.find_element(By.CSS_SELECTOR, "#detect-form button").click()
    wait("the inspected image's verdict", lambda: driver.find_element(By.ID, "detect-summary").text.startswith(("OK", "NG")))
    size = driver.execute_script("const c = document.getElementById('detect-canvas'); return [c.width, c.height]")
    if size[0] <= 0 or size[1] <= 0:
        sys.exit(f"FAILED: the inspected image was not drawn ({size})")
    print(f"detect: {driver.find_element(By.ID, 'detect-summary').text}; drawn {size[0]}x{size[1]}")

    # A viewer token: the station and the live feed, but no image upload anywhere.
    driver.execute_script("sessionStorage.setItem('inspectd.token', arguments[0])", viewer)
    driver.get(base + "/#overview")
    driver.refresh()
    wait("the viewer sees the camera tile", lambda: driver.find_elements(By.CSS_SELECTOR, tile))
    wait("the viewer's live feed connects", lambda: "connected" in driver.find_element(By.ID, "live-state").text)
    if driver.find_element(By.ID, "detect-link").is_displayed():
        sys.exit("FAILED: a viewer token is offered 'Inspect an image'")
    driver.get(base + "/#detect")
    wait("a viewer sent to #detect gets the station view", lambda: driver.find_element(By.ID, "overview").is_displayed())
    if driver.find_element(By.CSS_SELECTOR, "#detect-form button[type=submit]").is_displayed():
        sys.exit("FAILED: a viewer token gets an upload button")
    driver.get(base + "/#camera/" + triggered)
    wait("the viewer sees the triggered camera", lambda: driver.find_element(By.ID, "camera-title").text.startswith(triggered))
    if driver.find_element(By.ID, "trigger-form").is_displayed():
        sys.exit("FAILED: a viewer token is offered a trigger")
    print("viewer: no upload or trigger offered")
    logs = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "401" not in e["message"]]
    if logs:
        sys.exit(f"FAILED: browser console errors: {logs}")
    print("station page: all checks passed")
finally:
    driver.quit()
